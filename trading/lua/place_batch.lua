-- place_batch: ARGV[6..9] min price, max price, max quantity, max expiry horizon (ms), then
-- groups of 7 per order: order id, user id, side, price, quantity, tif, expires_at (0 for IOC).
-- The orders are placed one after the other, exactly as that many `place` calls at the same
-- clock would place them; the deferred writes, the journal entry (every placed order's events,
-- in order), the top of book and the book update are written once for the whole batch.
-- Returns one reply per order, as `place` would have returned it, or the book's refusal.
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
local out = {}
for k, oid in ipairs(ids) do
  local i = 10 + (k - 1) * 7
  out[k] = place_one(oid, ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]),
    ARGV[i + 5], tonumber(ARGV[i + 6]), priors[k], min_price, max_price, max_qty, max_exp)
end
if #journal > 0 then commit('place', '[' .. table.concat(journal, ',') .. ']') end
return out
