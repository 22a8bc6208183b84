-- expire: ARGV[6..] limit, retention (ms). Expires every order whose expires_at <= now (up to
-- limit) and forgets finished orders older than the retention period (their idempotency record
-- goes with them).
local limit, retention = tonumber(ARGV[6]), tonumber(ARGV[7])
local refused = open_book_or_refuse()
if refused then return refused end
sweep(limit)
flush() -- an order expired just now may be pruned just now too (retention 0)
-- `done` holds the finished orders oldest first, an entry per command: take whole entries (the
-- last one in part) while they finished by the cutoff
local cutoff, pruned = NOW - retention, 0
while pruned < limit do
  local entry = redis.call('LINDEX', K_DONE, 0)
  if not entry then break end
  local bar = find(entry, '|', 1, true)
  if tonumber(sub(entry, 1, bar - 1)) > cutoff then break end
  local ids = {}
  for id in string.gmatch(sub(entry, bar + 1), '[^,]+') do ids[#ids + 1] = id end
  local take = math.min(#ids, limit - pruned)
  for i = 1, take do
    redis.call('HDEL', K_ORDERS, ids[i])
    redis.call('HDEL', K_OUTCOMES, ids[i])
  end
  if take == #ids then
    redis.call('LPOP', K_DONE)
  else
    redis.call('LSET', K_DONE, 0, sub(entry, 1, bar) .. concat(ids, ',', take + 1))
  end
  pruned = pruned + take
end
return {'ok', commit('expire'), N[NOW], pruned}
