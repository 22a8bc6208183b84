-- cancel: ARGV[6..] order id, user id
local oid, user = ARGV[6], ARGV[7]
local refused = open_book_or_refuse()
if refused then return refused end
local o = load_order(oid)
if not o then return rej('unknown_order', 'no such order in this book') end
if o[O_USER] ~= user then return rej('not_owner', 'the order belongs to another user') end
if o[O_STATUS] ~= 'open' then return rej('order_not_open', 'the order is ' .. o[O_STATUS]) end
if o[O_EXP] <= NOW then return rej('order_not_open', 'the order has expired') end

sweep(SWEEP_LIMIT)
unrest(o)
emit(ev_cancelled(o, o[O_REM], 'user'))
o[O_CXL] = o[O_CXL] + o[O_REM]
o[O_REM] = 0
o[O_STATUS] = 'cancelled'
finish(o)
save(o)
return {'ok', commit('cancel'), N[NOW]}
