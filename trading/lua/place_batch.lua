-- place_batch: ARGV[6..9] min price, max price, max quantity, max expiry horizon (ms), then
-- groups of 7 per order: order id, user id, side, price, quantity, tif, expires_at (0 for IOC).
-- The orders are placed one after the other, exactly as that many `place` calls at the same
-- clock would place them; the deferred writes, the journal entry (every placed order's events,
-- in order), the top of book and the book update are written once for the whole batch.
-- Returns {'ok', results, now} where results is one JSON array with one entry per order: the
-- order's events (an array of event arrays) when it was placed, ["replay", at, events] for a
-- replay, ["rej", code, message] for a refusal. Or the book's refusal {'rej', code, message}.
local refused = open_book_or_refuse()
if refused then return refused end
local min_price, max_price = tonumber(ARGV[6]), tonumber(ARGV[7])
local max_qty, max_exp = tonumber(ARGV[8]), tonumber(ARGV[9])
local ids = {}
for i = 10, #ARGV, 7 do ids[#ids + 1] = ARGV[i] end
local priors = {}
for i = 1, #ids, 4000 do
  local j = i + 3999
  if j > #ids then j = #ids end
  local got = redis.call('HMGET', K_OUTCOMES, unpack(ids, i, j))
  for k = 1, #got do priors[i + k - 1] = got[k] end
end
local slots = {} -- each order's entry in the results, without its brackets
for k, oid in ipairs(ids) do
  local i = 10 + (k - 1) * 7
  local kind, a, b = place_one(oid, ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],
    ARGV[i + 5], ARGV[i + 6], priors[k], min_price, max_price, max_qty, max_exp)
  if kind == 'ok' then
    slots[k] = a
  elseif kind == 'replay' then
    local at, ev = string.match(a, '^(%d+)|(.*)$')
    slots[k] = '"replay",' .. at .. ',' .. ev
  else
    slots[k] = '"rej","' .. a .. '","' .. b .. '"'
  end
end
-- every event of the script belongs to a placed order: the batch's journal entry is all of them
if ne > 0 then commit('place', events_json()) end
if #slots == 0 then return {'ok', '[]', SNOW} end
return {'ok', '[[' .. table.concat(slots, '],[') .. ']]', SNOW}
