-- place_batch: ARGV[6..10] min price, max price, max quantity, max expiry horizon (ms), the
-- book's lowest acceptable sequence (see open_book_or_refuse), then groups of 7 per order: order id, user id, side, price, quantity, tif, expires_at (0 for IOC).
-- The orders are placed one after the other, exactly as that many `place` calls at the same
-- clock would place them; the deferred writes, the journal entry (every placed order's events,
-- in order), the top of book and the book update are written once for the whole batch.
-- Returns {'ok', events, layout, now}: `events` is the JSON text of the journal entry (every
-- placed order's events, in order; '[]' when none) and `layout` a JSON array with one entry per
-- order: how many of those events are its own when it was placed, ["replay", at, events] for a
-- replay, ["rej", code, message] for a refusal. Or the book's refusal {'rej', code, message}.
local refused = open_book_or_refuse(ARGV[10])
if refused then return refused end
WINDOW = 8 -- a batch's takers share the front of the side they cross (a wider window costs more
-- to keep in order than the reads it saves: 32 took ~3% more instructions per order)
local checks = new_checks(setting(ARGV[6]), setting(ARGV[7]), setting(ARGV[8]),
  setting(ARGV[9]))
local args = ARGV
local ids, n = {}, 0
for i = 11, NARGV, 7 do
  n = n + 1
  ids[n] = args[i]
end
local priors = prior_outcomes(ids, n)
local layout = {}
for k = 1, n do
  local i = 4 + k * 7 -- this order's arguments are args[i .. i + 6]
  local before = nj
  local kind, a, b = place_one(ids[k], args[i + 1], args[i + 2], args[i + 3], args[i + 4],
    args[i + 5], args[i + 6], priors[k], checks)
  if kind == 'ok' then
    layout[k] = N[nj - before]
  elseif kind == 'replay' then
    local at, ev = string.match(a, '^(%d+)|(.*)$')
    layout[k] = '["replay",' .. at .. ',' .. ev .. ']'
  else
    layout[k] = '["rej","' .. a .. '","' .. b .. '"]'
  end
end
-- every event of the script belongs to a placed order: the batch's journal entry is all of them
local ev = '[]'
if ne > 0 then
  ev = events_json()
  commit('place', ev)
end
return {'ok', ev, '[' .. table.concat(layout, ',') .. ']', SNOW}
