-- cancel: ARGV[6..] order id, user id
local oid, user = ARGV[6], ARGV[7]
local state = book_state()
if not state then return rej('unknown_book', 'no order book for this variant') end
if state ~= 'open' then return rej('book_halted', 'the order book is being rebuilt') end
local o = load_order(oid)
if not o then return rej('unknown_order', 'no such order in this book') end
if o.user ~= user then return rej('not_owner', 'the order belongs to another user') end
if o.status ~= 'open' then return rej('order_not_open', 'the order is ' .. o.status) end
if o.exp <= NOW then return rej('order_not_open', 'the order has expired') end

load_seq()
sweep(SWEEP_LIMIT)
unrest(o)
events[#events + 1] = {type = 'cancelled', order = o.id, user = o.user, side = o.side,
  price = o.price, qty = o.rem, reason = 'user'}
o.cxl = o.cxl + o.rem
o.rem = 0
o.status = 'cancelled'
finish(o)
save(o)
return {'ok', commit('cancel'), I(NOW)}
