-- expire: ARGV[6..] limit, retention (ms). Expires every order whose expires_at <= now (up to
-- limit) and forgets finished orders older than the retention period (their idempotency record
-- goes with them).
local limit, retention = tonumber(ARGV[6]), tonumber(ARGV[7])
local refused = open_book_or_refuse()
if refused then return refused end
sweep(limit)
flush() -- an order expired just now may be pruned just now too (retention 0)
local old = redis.call('ZRANGEBYSCORE', K_DONE, '-inf', NOW - retention, 'LIMIT', 0, limit)
for _, id in ipairs(old) do
  redis.call('HDEL', K_ORDERS, id)
  redis.call('HDEL', K_OUTCOMES, id)
  redis.call('ZREM', K_DONE, id)
end
return {'ok', commit('expire'), N[NOW], #old}
