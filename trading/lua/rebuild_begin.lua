-- rebuild_begin: ARGV[6] = lowest sequence the book may continue from. Halts the book (commands
-- are refused with book_halted) and forgets every resting order; finished orders and
-- idempotency records stay (a resting order's implied one is written out first: its record
-- goes), the journal is untouched.
redis.call('HSET', K_META, 'state', 'rebuilding')
local function forget(id)
  local rec = redis.call('HGET', K_ORDERS, id)
  if rec then
    redis.call('HSETNX', K_OUTCOMES, id, rested_outcome(parse(id, rec)))
    redis.call('HDEL', K_ORDERS, id)
  end
end
local ids = redis.call('ZRANGE', K_EXPIRY, 0, -1)
for _, id in ipairs(ids) do forget(id) end
local members = 0
for _, k in ipairs({K_BIDS, K_ASKS}) do
  for _, m in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    forget(string.sub(m, 17))
    members = members + 1
  end
end
-- places check `outcomes` for every id from now on (see prior_outcomes), once a record went (a
-- book Redis lost whole forgets nothing: its places need no such check)
if #ids + members > 0 then redis.call('HSET', K_META, 'forgotten', '1') end
redis.call('DEL', K_BIDS, K_ASKS, K_DBIDS, K_DASKS, K_EXPIRY)
-- the expiry index's bound goes with it (see sweep), and the top of book with the sides: a
-- command trusts the meta hash's best (see best, match) and must not find a stale one if the
-- book is reopened without rebuild_end
redis.call('HDEL', K_META, 'exp_lb', 'bid', 'bid_qty', 'ask', 'ask_qty')
load_seq()
local floor = tonumber(ARGV[6])
if floor > seq then seq = floor end
redis.call('HSET', K_META, 'seq', N[seq])
redis.call('HSETNX', K_META, 'created_at', N[NOW])
return {'ok', #ids}
