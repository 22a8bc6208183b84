-- open_book: ARGV[6] = 1 to (re)open a halted book; ARGV[7] = the sequence a book created now
-- starts from (the last one the system of record saw from it: trade ids never repeat). Creates
-- the book if missing; idempotent.
local state = book_state()
if state == 'open' then return {'ok', 0} end
if state and ARGV[6] ~= '1' then return {'ok', 0} end
redis.call('HSET', K_META, 'state', 'open')
redis.call('HSETNX', K_META, 'seq', ARGV[7] or '0')
redis.call('HSETNX', K_META, 'created_at', N[NOW])
return {'ok', 1}
