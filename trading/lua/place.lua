-- place: ARGV[6..] order id, user id, side, price, quantity, tif, expires_at (0 for IOC),
-- min price, max price, max quantity, max expiry horizon (ms)
local refused = open_book_or_refuse()
if refused then return refused end
local oid = ARGV[6]
local r = place_one(oid, ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11],
  tonumber(ARGV[12]), redis.call('HGET', K_OUTCOMES, oid), tonumber(ARGV[13]),
  tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16]))
if r[1] == 'ok' then commit('place', r[2]) end
return r
