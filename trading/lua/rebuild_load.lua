-- rebuild_load: ARGV[6..] groups of 7: order id, user id, side, price, remaining, sequence,
-- expires_at. Rests each as an open GTC order and raises the book sequence past it.
load_seq()
local n = 0
for i = 6, NARGV, 7 do
  local rem = tonumber(ARGV[i + 4])
  local o = new_order(ARGV[i], 'open', ARGV[i + 2], ARGV[i + 1], tonumber(ARGV[i + 3]), rem, rem,
    0, 0, 0, tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6]), 'gtc', N[NOW])
  rest(o)
  save(o)
  if o[O_SEQ] > seq then seq = o[O_SEQ] end
  redis.call('HSETNX', K_OUTCOMES, o[O_ID], rested_outcome(o))
  n = n + 1
end
flush()
redis.call('HSET', K_META, 'seq', N[seq])
return {'ok', n}
