-- modify: ARGV[6..] order id, user id, new price, new open quantity, min price, max price,
-- max quantity. Same price and lower quantity keeps time priority; a price change is a
-- cancel/replace (new sequence) and may trade at once.
local oid, user = ARGV[6], ARGV[7]
local price, qty = tonumber(ARGV[8]), tonumber(ARGV[9])
local min_price, max_price, max_qty = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local function ev_modified(o, old_price, old_qty, kept)
  return '["modified",' .. head(o) .. N[old_price] .. ',' .. N[o.price] .. ',' .. N[old_qty] ..
    ',' .. N[o.rem] .. ',' .. kept .. ',' .. N[o.seq] .. ']'
end
local refused = open_book_or_refuse()
if refused then return refused end
local o = load_order(oid)
if not o then return rej('unknown_order', 'no such order in this book') end
if o.user ~= user then return rej('not_owner', 'the order belongs to another user') end
if o.status ~= 'open' then return rej('order_not_open', 'the order is ' .. o.status) end
if o.exp <= NOW then return rej('order_not_open', 'the order has expired') end
if not price or price ~= math.floor(price) or price < min_price or price > max_price then
  return rej('invalid_price', 'price out of bounds')
end
if not qty or qty ~= math.floor(qty) or qty < 1 or qty > max_qty then
  return rej('invalid_quantity', 'quantity out of bounds')
end
if qty > o.rem then
  return rej('invalid_quantity', 'quantity can only go down; place a new order for more')
end
if price == o.price and qty == o.rem then return {'ok', '[]', N[NOW]} end

sweep(SWEEP_LIMIT)
local old_price, old_qty = o.price, o.rem
if price == o.price then
  level_add(o.side, o.price, qty - o.rem, 0)
  o.cxl = o.cxl + (o.rem - qty)
  o.rem = qty
  emit(ev_modified(o, old_price, old_qty, 'true'))
else
  -- the record stops implying how the order was placed: keep that outcome (if it was implied)
  redis.call('HSETNX', K_OUTCOMES, oid, rested_outcome(o))
  unrest(o)
  o.cxl = o.cxl + (o.rem - qty)
  o.rem = qty
  o.price = price
  seq = seq + 1
  o.seq = seq
  emit(ev_modified(o, old_price, old_qty, 'false'))
  settle(o, match(o))
end
save(o)
return {'ok', commit('modify'), N[NOW]}
