-- rebuild_load: ARGV[6..] groups of 7: order id, user id, side, price, remaining, sequence,
-- expires_at. Rests each as an open GTC order and raises the book sequence past it.
load_seq()
local n = 0
for i = 6, NARGV, 7 do
  local o = {id = ARGV[i], status = 'open', user = ARGV[i + 1], side = ARGV[i + 2],
    price = tonumber(ARGV[i + 3]), rem = tonumber(ARGV[i + 4]), seq = tonumber(ARGV[i + 5]),
    exp = tonumber(ARGV[i + 6]), filled = 0, cxl = 0, expq = 0, tif = 'gtc', at = N[NOW]}
  o.orig = o.rem
  rest(o)
  save(o)
  if o.seq > seq then seq = o.seq end
  redis.call('HSETNX', K_OUTCOMES, o.id, rested_outcome(o))
  n = n + 1
end
flush()
redis.call('HSET', K_META, 'seq', N[seq])
return {'ok', n}
