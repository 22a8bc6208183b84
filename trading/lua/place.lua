-- place: ARGV[6..] order id, user id, side, price, quantity, tif, expires_at (0 for IOC),
-- (for IOC: its deadline, 0 for none), min price, max price, max quantity, max expiry horizon
-- (ms), the book's lowest acceptable sequence (see open_book_or_refuse)
local refused = open_book_or_refuse(ARGV[17])
if refused then return refused end
local oid = ARGV[6]
local kind, a, b = place_one(oid, ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12],
  prior_outcome(oid),
  new_checks(setting(ARGV[13]), setting(ARGV[14]), setting(ARGV[15]), setting(ARGV[16])))
if kind == 'ok' then
  local ev = '[' .. a .. ']'
  commit('place', ev)
  return {'ok', ev, SNOW}
end
return {kind, a, b} -- {'replay', record} or {'rej', code, message}
