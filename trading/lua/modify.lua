-- modify: ARGV[6..] order id, user id, new price, new open quantity, min price, max price,
-- max quantity, the book's lowest acceptable sequence (see open_book_or_refuse). Same price and lower quantity keeps time priority; a price change is a
-- cancel/replace (new sequence) and may trade at once.
local oid, user = ARGV[6], ARGV[7]
local price = whole_in(ARGV[8], tonumber(ARGV[10]), tonumber(ARGV[11]))
local qty = whole_in(ARGV[9], 1, tonumber(ARGV[12]))
local function ev_modified(o, old_price, old_qty, kept)
  return '["modified",' .. head(o) .. N[old_price] .. ',' .. N[o[O_PRICE]] .. ',' .. N[old_qty] ..
    ',' .. N[o[O_REM]] .. ',' .. kept .. ',' .. N[o[O_SEQ]] .. ']'
end
local refused = open_book_or_refuse(ARGV[13])
if refused then return refused end
local o = load_order(oid)
if not o then return rej('unknown_order', 'no such order in this book') end
if o[O_USER] ~= user then return rej('not_owner', 'the order belongs to another user') end
if o[O_STATUS] ~= 'open' then return rej('order_not_open', 'the order is ' .. o[O_STATUS]) end
if o[O_EXP] <= NOW then return rej('order_not_open', 'the order has expired') end
if not price then return rej('invalid_price', 'price out of bounds') end
if not qty then return rej('invalid_quantity', 'quantity out of bounds') end
if qty > o[O_REM] then
  return rej('invalid_quantity', 'quantity can only go down; place a new order for more')
end
if price == o[O_PRICE] and qty == o[O_REM] then return {'ok', '[]', N[NOW]} end

sweep(SWEEP_LIMIT)
local old_price, old_qty = o[O_PRICE], o[O_REM]
if price == o[O_PRICE] then
  level_add(o[O_SIDE], o[O_PRICE], qty - o[O_REM], 0)
  o[O_CXL] = o[O_CXL] + (o[O_REM] - qty)
  o[O_REM] = qty
  emit(ev_modified(o, old_price, old_qty, 'true'))
else
  -- the record stops implying how the order was placed: keep that outcome (if it was implied)
  redis.call('HSETNX', K_OUTCOMES, oid, rested_outcome(o))
  unrest(o)
  o[O_CXL] = o[O_CXL] + (o[O_REM] - qty)
  o[O_REM] = qty
  o[O_PRICE] = price
  seq = seq + 1
  o[O_SEQ] = seq
  emit(ev_modified(o, old_price, old_qty, 'false'))
  settle(o, match(o))
end
save(o)
return {'ok', commit('modify'), N[NOW]}
