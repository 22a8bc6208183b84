-- place_batch: ARGV[6..9] min price, max price, max quantity, max expiry horizon (ms), then
-- groups of 7 per order: order id, user id, side, price, quantity, tif, expires_at (0 for IOC).
-- The orders are placed one after the other, exactly as that many `place` calls at the same
-- clock would place them; the deferred writes, the journal entry (every placed order's events,
-- in order), the top of book and the book update are written once for the whole batch.
-- Returns {'ok', events, layout, now}: `events` is the JSON text of the journal entry (every
-- placed order's events, in order; '[]' when none) and `layout` a JSON array with one entry per
-- order: how many of those events are its own when it was placed, ["replay", at, events] for a
-- replay, ["rej", code, message] for a refusal. Or the book's refusal {'rej', code, message}.
local refused = open_book_or_refuse()
if refused then return refused end
WINDOW = 8 -- a batch's takers share the front of the side they cross (a wider window costs more
-- to keep in order than the reads it saves: 32 took ~3% more instructions per order)
local prices, qtys, exps = order_bounds(tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),
  tonumber(ARGV[9]))
local ids = {}
for i = 10, NARGV, 7 do ids[#ids + 1] = ARGV[i] end
local priors = {}
for i = 1, #ids, 4000 do
  local j = i + 3999
  if j > #ids then j = #ids end
  local stored = redis.call('HMGET', K_OUTCOMES, unpack(ids, i, j))
  local recs = redis.call('HMGET', K_ORDERS, unpack(ids, i, j))
  for k = 1, #stored do priors[i + k - 1] = prior_outcome(ids[i + k - 1], stored[k], recs[k]) end
end
local layout = {}
for k, oid in ipairs(ids) do
  local i = 10 + (k - 1) * 7
  local before = nj
  local kind, a, b = place_one(oid, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],
    ARGV[i + 5], ARGV[i + 6], priors[k], prices, qtys, exps)
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
