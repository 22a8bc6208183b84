-- place: ARGV[6..] order id, user id, side, price, quantity, tif, expires_at (0 for IOC),
-- min price, max price, max quantity, max expiry horizon (ms)
local oid, user, side = ARGV[6], ARGV[7], ARGV[8]
local price, qty, tif, exp = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12])
local min_price, max_price = tonumber(ARGV[13]), tonumber(ARGV[14])
local max_qty, max_exp = tonumber(ARGV[15]), tonumber(ARGV[16])

local refused = open_book_or_refuse()
if refused then return refused end
local prior = redis.call('HGET', K_OUTCOMES, oid)
if prior then return {'replay', prior} end
if side ~= 'bid' and side ~= 'ask' then return rej('invalid_side', 'side must be bid or ask') end
if not price or price ~= math.floor(price) or price < min_price or price > max_price then
  return rej('invalid_price', 'price out of bounds')
end
if not qty or qty ~= math.floor(qty) or qty < 1 or qty > max_qty then
  return rej('invalid_quantity', 'quantity out of bounds')
end
if tif == 'gtc' then
  if not exp or exp ~= math.floor(exp) or exp <= NOW or exp > NOW + max_exp then
    return rej('invalid_expiry', 'a GTC order needs expires_at in the future')
  end
elseif tif == 'ioc' then
  exp = 0
else
  return rej('invalid_time_in_force', 'time_in_force must be gtc or ioc')
end

sweep(SWEEP_LIMIT)
seq = seq + 1
local o = {id = oid, status = 'open', side = side, user = user, price = price, orig = qty,
  rem = qty, filled = 0, cxl = 0, expq = 0, seq = seq, exp = exp, tif = tif}
events[#events + 1] = {type = 'accepted', order = oid, user = user, side = side, price = price,
  qty = qty, tif = tif, exp = exp, seq = seq}
settle(o, match(o))
save(o)
local ev = commit('place')
redis.call('HSET', K_OUTCOMES, oid, I(NOW) .. '|' .. ev)
return {'ok', ev, I(NOW)}
