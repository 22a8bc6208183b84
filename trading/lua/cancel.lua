-- cancel: ARGV[6..] order id, user id
local oid, user = ARGV[6], ARGV[7]
local refused = open_book_or_refuse()
if refused then return refused end
local o = load_order(oid)
if not o then return rej('unknown_order', 'no such order in this book') end
if o.user ~= user then return rej('not_owner', 'the order belongs to another user') end
if o.status ~= 'open' then return rej('order_not_open', 'the order is ' .. o.status) end
if o.exp <= NOW then return rej('order_not_open', 'the order has expired') end

sweep(SWEEP_LIMIT)
unrest(o)
emit(ev_cancelled(o, o.rem, 'user'))
o.cxl = o.cxl + o.rem
o.rem = 0
o.status = 'cancelled'
finish(o)
save(o)
return {'ok', commit('cancel'), N[NOW]}
