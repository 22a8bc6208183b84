-- Shared part of the book's function library (trading/scripts.py puts it first, then each
-- command's file as the body of its function, then registers one function per command).
-- Loaded once per server with FUNCTION LOAD: the rules below are compiled and their closures
-- created once; each call (FCALL) sets the call's state with begin() and runs its command.
-- KEYS: the book's keys, all hash-tagged {book:<variant_id>} so one call touches one slot.
-- ARGV[1..5]: variant id, channel, now (epoch ms), sweep limit, recent trades length.
-- Command arguments start at ARGV[6] and end at NARGV. Commands validate before the first write
-- and return {'rej', code, message} instead of raising: a refused command changes nothing.
--
-- Writes that nothing later in the call reads back from Redis are deferred and written by
-- flush() in as few calls as possible (one HSET for every changed order record, one ZADD and one
-- ZREM for the expiry index, one per side for the level totals...). Orders read in a call are
-- kept in `cache`, so an order touched twice (in a batch) is read once and written once.
--
-- The call's state: the library's locals below, set afresh by begin() at the start of every
-- call (a function runs atomically and alone: nothing of one call is seen by the next).
local KEYS, ARGV, NARGV
local K_META, K_BIDS, K_ASKS, K_DBIDS, K_DASKS, K_ORDERS
local K_OUTCOMES, K_EXPIRY, K_DONE, K_JOURNAL, K_TRADES
local VARIANT, CHANNEL, NOW, SWEEP_LIMIT, RECENT, SNOW

local events            -- every event of the call, in order (JSON text: one or two events)
local ne                -- #events
local nj                -- how many events they hold
local changed           -- the touched levels, in first-change order (see level_add)
local trades            -- 4 entries per trade, in order: sequence, price, qty (strings), taker side
local nt                -- how many trades
local seq

-- deferred writes (see flush)
local cache             -- order id -> order table (read or created by this call)
local dirty             -- orders whose record must be written (o[O_DIRTY] set), in first-change order
local nd                -- #dirty
local exp_orders        -- orders with a change of the expiry index pending (o[O_EXPIRY]), in
local nx                -- first-change order; #exp_orders
local exp_written       -- whether this call wrote to the expiry index yet (a sweep flushes)
local done_ids          -- finished now, in order: one entry of the `done` list
local ndone             -- #done_ids
local outcomes          -- flat id, record pairs: idempotency records of orders placed now
local no                -- #outcomes
local swept_all         -- a sweep found every due order: later sweeps would find none
local exp_lb            -- a lower bound of the expiry index's scores (meta `exp_lb`), or false
local exp_lb_dirty      -- exp_lb changed in this call: commit() writes it
local top_bid, top_ask  -- the best prices in the meta hash when the call began (0: none), or false
local forgotten         -- a rebuild forgot order records whose idempotency records stay
local levels            -- levels[side][price]: see level_add
local changed_side      -- side -> true when one of its levels changed
local adds, dels        -- the sides' pending ZADD and ZREM (see side_flush)
local win, whole        -- the sides' windows (see side_flush)
local known             -- known[k]: side k's best score as it stands now, when nothing left it in
                        -- this call (the top of book when the call began, or an order rested
                        -- since; NO_SCORE: empty); false or nil when not known (see best)

-- Integers as text: N[n] is the decimal string of n, formatted once ('%d' is several times
-- cheaper than tostring()'s '%.14g', and a batch repeats its prices and quantities). Lua
-- numbers given to redis.call would be formatted with '%.14g' on every call: scores and other
-- numeric arguments go as N[...] strings. The table is kept from call to call (calls repeat
-- prices, quantities, zeros), and started afresh by the first call that finds it holding more
-- than N_KEEP numbers (never during a call: a batch formats each number once, as before).
-- (The standard library is not there while the library loads, only when it runs: begin() takes
-- these from it.)
local fmt, find, sub, concat, floor_of
local N, nN
local N_KEEP = 1024
local N_FORMAT = {}
N_FORMAT.__index = function(t, n)
  local s = fmt('%d', n)
  t[n] = s
  nN = nN + 1
  return s
end
local WINDOW -- side entries read at a time (4; place_batch reads more)

-- Text the server wrote itself (order records' numbers matched by %d+, the meta hash's numbers,
-- scores, members' sequences) is made a number with `s + 0`: one conversion, where tonumber()
-- is a C call that converts its argument twice (lua_isnumber, then lua_tonumber). The engine's
-- settings (sweep limit, recent trades, a place's bounds) repeat on every call: setting(s) is
-- tonumber(s), kept for the library's life (up to 64 distinct texts).
local SETTINGS, nsettings = {}, 0
local function setting(s)
  local n = SETTINGS[s]
  if n == nil then
    n = tonumber(s)
    if n and nsettings < 64 then
      SETTINGS[s] = n
      nsettings = nsettings + 1
    end
  end
  return n
end

local function numbers_fresh() -- (begin is at Lua's limit of 60 upvalues)
  if not nN or nN > N_KEEP then
    N, nN = setmetatable({}, N_FORMAT), 0
  end
end

local function begin(keys, args)
  if not fmt then
    fmt, find, sub, concat, floor_of = string.format, string.find, string.sub, table.concat,
      math.floor
  end
  numbers_fresh()
  KEYS, ARGV, NARGV = keys, args, #args
  K_META, K_BIDS, K_ASKS, K_DBIDS, K_DASKS, K_ORDERS = keys[1], keys[2], keys[3], keys[4], keys[5],
    keys[6]
  K_OUTCOMES, K_EXPIRY, K_DONE, K_JOURNAL, K_TRADES = keys[7], keys[8], keys[9], keys[10], keys[11]
  VARIANT, CHANNEL, SNOW = args[1], args[2], args[3]
  NOW, SWEEP_LIMIT, RECENT = tonumber(args[3]), setting(args[4]), setting(args[5])
  events, ne, nj, changed, trades, nt, seq = {}, 0, 0, {}, {}, 0, 0
  cache, dirty, nd, exp_orders, nx, exp_written = {}, {}, 0, {}, 0, false
  done_ids, ndone, outcomes, no, swept_all, forgotten = {}, 0, {}, 0, false, false
  exp_lb, exp_lb_dirty, top_bid, top_ask = false, false, false, false
  levels, changed_side = {bid = {}, ask = {}}, {}
  adds, dels = {[K_BIDS] = {}, [K_ASKS] = {}}, {[K_BIDS] = {}, [K_ASKS] = {}}
  win, whole, known = {}, {}, {}
  WINDOW = 4
end

-- Each function of the rules below is created once, when the library loads; each call runs
-- only its own work (the scripts this replaces created ~45 closures on every call).
-- Events are JSON arrays, the type first and then the fields by position (docs/trading.md),
-- built by concatenating strings: ids and users are checked to be 1-64 characters of
-- [A-Za-z0-9_.:-] before they reach an event, so nothing needs escaping, and every number is an
-- integer formatted once. (Concatenation copies each piece once; string.format walks its whole
-- format string character by character, which made events with key names several times
-- dearer.) `head` is the '"<id>","<user>","<side>",' an order's events start with.
local function head(o)
  return '"' .. o[O_ID] .. '","' .. o[O_USER] .. '","' .. o[O_SIDE] .. '",'
end

local function emit(ev)
  ne = ne + 1
  nj = nj + 1
  events[ne] = ev
end

local function ev_rested(o)
  return '["rested",' .. head(o) .. N[o[O_PRICE]] .. ',' .. N[o[O_REM]] .. ',' ..
    N[o[O_SEQ]] .. ',' ..
    N[o[O_EXP]] .. ']'
end
local function ev_cancelled(o, qty, reason)
  return '["cancelled",' .. head(o) .. N[o[O_PRICE]] .. ',' .. N[qty] .. ',"' .. reason .. '"]'
end

local function events_json()
  return '[' .. concat(events, ',') .. ']'
end

local function valid_id(s)
  return #s <= 64 and find(s, '^[%w_.:%-]+$') ~= nil
end

-- The checks of a place: its bounds (min price, max price, max quantity, max expiry horizon)
-- and what was checked against them, text -> its value (a number, or for users true) or false:
-- a batch repeats its users, prices, quantities and expiries, and checks each once. (Plain
-- tables filled by place_one, and no script-wide locals: every local a function of this prelude
-- captures makes every command of the book create its closures a little slower.)
local function new_checks(min_price, max_price, max_qty, max_exp)
  return {min_price = min_price, max_price = max_price, max_qty = max_qty, max_exp = max_exp,
    users = {}, prices = {}, qtys = {}, exps = {}}
end

-- the value of text s if it is a whole number in [lo, hi], else false
local function whole_in(s, lo, hi)
  local n = tonumber(s)
  if n and n == floor_of(n) and n >= lo and n <= hi then return n end
  return false
end

local function rej(code, message) return {'rej', code, message} end

local function book_state()
  return redis.call('HGET', K_META, 'state')
end

local function load_seq()
  seq = tonumber(redis.call('HGET', K_META, 'seq') or '0')
end


-- state, sequence and `forgotten` in one read; returns a refusal or nil. `floor` (text, may
-- be nil): the last sequence the caller's system of record saw from this book; a book whose
-- sequence is below it lost state (a failover to a replica that was behind) and is refused
-- until it is rebuilt, so its trade ids never repeat ones already recorded.
local NO_SCORE = 9007199254740991 -- an empty side's best score in `known` (2^53 - 1)
local function open_book_or_refuse(floor)
  if not valid_id(VARIANT) then return rej('invalid_id', 'bad variant id') end
  local m = redis.call('HMGET', K_META, 'state', 'seq', 'forgotten', 'exp_lb', 'bid', 'ask')
  if not m[1] then return rej('unknown_book', 'no order book for this variant') end
  if m[1] ~= 'open' then return rej('book_halted', 'the order book is being rebuilt') end
  seq = (m[2] or 0) + 0
  if floor and seq < (tonumber(floor) or 0) then
    return rej('book_behind', 'the order book is behind the database and must be rebuilt')
  end
  forgotten = m[3] ~= false
  exp_lb = m[4] and m[4] + 0 or false
  top_bid = m[5] and m[5] + 0 or false
  top_ask = m[6] and m[6] + 0 or false
  -- the meta hash's top of book is the sides' best when the call begins: every call that changed
  -- a side wrote it (commit), and a rebuild writes it when it reopens the book
  if top_bid then known[K_BIDS] = (top_bid == 0) and NO_SCORE or -top_bid end
  if top_ask then known[K_ASKS] = (top_ask == 0) and NO_SCORE or top_ask end
  return nil
end

-- order record:
-- status|side|user|price|submitted|remaining|filled|cancelled|expired|seq|expires_at|tif|at
-- (`at`: when it was placed, as text; records written before it existed end at tif).
-- An order table is an array: the id, the record's 13 fields in its order, O_DIRTY, O_BODY
-- (false, or for an order placed by this script its events: '' while it is being placed) and
-- O_EXPIRY (see set_expiry). trading/scripts.py replaces each O_<NAME> with its index before the
-- script is loaded (Lua 5.1 has no constants): an array of 17 slots is allocated once and
-- read by index, which costs less than a table of 17 named keys (every allocation counts here:
-- a batch's time goes as much to allocating and collecting as to the rules).
local function new_order(id, status, side, user, price, orig, rem, filled, cxl, expq, s, exp, tif,
                         at)
  return {id, status, side, user, price, orig, rem, filled, cxl, expq, s, exp, tif, at, false,
    false,
    false}
end

local function parse(id, rec)
  local st, side, user, price, orig, rem, filled, cxl, expq, s, exp, tif, at = string.match(rec,
    '^(%l+)|(%l+)|([^|]+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%l+)|?(%d*)$')
  return new_order(id, st, side, user, price + 0, orig + 0, rem + 0, filled + 0, cxl + 0,
    expq + 0, s + 0, exp + 0, tif, at)
end

-- The events of a place that was accepted and rested whole (no trade, nothing cancelled): they
-- follow from the order's record as long as its price and sequence are those it was placed
-- with, so such a place writes no idempotency record of its own. Whatever changes them (a
-- modify of the price) or forgets the record (a rebuild) first writes this one to `outcomes`.
-- (`p`, `q`, `s`, `e`: its price, quantity, sequence and expires_at as text)
local function rested_events(id, user, side, p, q, s, e)
  return '["accepted","' .. id .. '","' .. user .. '","' .. side .. '",' .. p .. ',' .. q ..
    ',"gtc",' .. e .. ',' .. s .. '],["rested","' .. id .. '","' .. user .. '","' .. side ..
    '",' .. p .. ',' .. q .. ',' .. s .. ',' .. e .. ']'
end

local function rested_outcome(o)
  return o[O_AT] .. '|[' .. rested_events(o[O_ID], o[O_USER], o[O_SIDE], N[o[O_PRICE]],
    N[o[O_ORIG]], N[o[O_SEQ]], N[o[O_EXP]]) .. ']'
end

-- The idempotency records of the ids ids[1..n] (their places), by position: the stored one,
-- the one the order record implies, or false (a new id). An order with a stored record has an
-- order record too, unless a rebuild forgot it (meta `forgotten`): so `outcomes` is read for
-- the ids with an order record only, or for every id once a rebuild forgot some.
local function prior_outcomes(ids, n)
  local priors = {}
  for i = 1, n, 4000 do
    local j = i + 3999
    if j > n then j = n end
    local recs = redis.call('HMGET', K_ORDERS, unpack(ids, i, j))
    local ask, want = {}, {} -- positions and ids to look up in `outcomes`
    for k = i, j do
      if forgotten or recs[k - i + 1] then
        ask[#ask + 1] = k
        want[#want + 1] = ids[k]
      end
      priors[k] = false
    end
    if #ask > 0 then
      local stored = redis.call('HMGET', K_OUTCOMES, unpack(want))
      for x, k in ipairs(ask) do
        local rec = recs[k - i + 1]
        if stored[x] then
          priors[k] = stored[x]
        elseif rec then
          priors[k] = rested_outcome(parse(ids[k], rec))
        end
      end
    end
  end
  return priors
end

-- prior_outcomes for one id, with HGETs (a single place: no tables)
local function prior_outcome(id)
  local rec = redis.call('HGET', K_ORDERS, id)
  if not (forgotten or rec) then return false end
  local stored = redis.call('HGET', K_OUTCOMES, id)
  if stored then return stored end
  if rec then return rested_outcome(parse(id, rec)) end
  return false
end

local function load_order(id)
  local o = cache[id]
  if o then return o end
  local rec = redis.call('HGET', K_ORDERS, id)
  if not rec then return nil end
  o = parse(id, rec)
  cache[id] = o
  return o
end

local function save(o)
  cache[o[O_ID]] = o
  if not o[O_DIRTY] then
    o[O_DIRTY] = true
    nd = nd + 1
    dirty[nd] = o
  end
end

-- Sides are ZSETs with the integer price as score (negated on the bid side, so both sides iterate
-- best-first in ascending order) and member '<15-digit sequence>|<order id>': equal scores sort
-- by member, i.e. by sequence, which is time priority.
local PAD = {} -- PAD[n]: the zeros that pad n digits to 15
local function member(o)
  local s = N[o[O_SEQ]]
  local z = PAD[#s]
  if not z then
    z = string.rep('0', 15 - #s)
    PAD[#s] = z
  end
  return z .. s .. '|' .. o[O_ID]
end
local function zkey(side) if side == 'bid' then return K_BIDS end return K_ASKS end

-- levels[side][price] = {side, price, qty, count}: changes (deltas) until flush() writes them,
-- then the level's new totals

local function level_add(side, price, dq, dn)
  local t = levels[side]
  local lv = t[price]
  if not lv then
    lv = {side, price, 0, 0}
    t[price] = lv
    changed[#changed + 1] = lv
  end
  changed_side[side] = true
  lv[3] = lv[3] + dq
  lv[4] = lv[4] + dn
end

-- o[O_EXPIRY]: the pending change of the order's entry in the expiry index: 'add' (at its
-- expires_at), 'del', 'none' (added and removed by this script) or false (none pending)
local function set_expiry(o, change)
  if not o[O_EXPIRY] then
    nx = nx + 1
    exp_orders[nx] = o
  end
  o[O_EXPIRY] = change
end

local function finish(o)
  if not o[O_BODY] or exp_written then
    set_expiry(o, 'del')
  elseif o[O_EXPIRY] then -- placed by this script and not written to the index yet
    o[O_EXPIRY] = 'none'  -- (else it never rested): drop the pending add
  end
  ndone = ndone + 1
  done_ids[ndone] = o[O_ID]
end

-- one command with many arguments, in chunks (Lua's unpack has a stack limit)
local function call_many(cmd, key, args, width)
  local n = #args
  if n == 0 then return end
  local chunk = 4000 - (4000 % width)
  for i = 1, n, chunk do
    local j = i + chunk - 1
    if j > n then j = n end
    redis.call(cmd, key, unpack(args, i, j))
  end
end

-- The sides. A script writes them at the end like the rest (side_flush: one ZADD and one ZREM
-- per side) and reads them through a window: win[k] holds, best first, the first entries of
-- side k as it stands with the script's own changes, {score, sequence, member} each, and
-- whole[k] says whether that is all of it. Matching walks the window (a batch reads a side's
-- front once instead of once per crossing order); an order resting ahead of the window's last
-- entry (or anywhere, if the window is the whole side) goes into it, a removed one leaves it.
-- Before the window is read from Redis again, the side's own writes go first.

local function side_flush(k)
  local a, d, n = nil, nil, 0 -- (no tables for a side with nothing to write)
  for m, sc in pairs(adds[k]) do
    if not a then a = {} end
    a[n + 1] = sc
    a[n + 2] = m
    n = n + 2
  end
  if a then
    call_many('ZADD', k, a, 2)
    adds[k] = {}
  end
  n = 0
  for m in pairs(dels[k]) do
    if not d then d = {} end
    n = n + 1
    d[n] = m
  end
  if d then
    call_many('ZREM', k, d, 1)
    dels[k] = {}
  end
end

-- (re)read the first n entries of side k
local function load_window(k, n)
  side_flush(k)
  local r = redis.call('ZRANGE', k, 0, n - 1, 'WITHSCORES')
  local w = {}
  for i = 1, #r, 2 do
    local m = r[i]
    w[#w + 1] = {r[i + 1] + 0, sub(m, 1, 15) + 0, m}
  end
  win[k] = w
  whole[k] = #w < n
end

-- the first index of window w whose entry does not sort before (sc, sq): binary search
local function position(w, sc, sq)
  local lo, hi = 1, #w + 1
  while lo < hi do
    local mid = lo + hi
    mid = (mid - mid % 2) / 2 -- no call to math.floor
    local e = w[mid]
    local esc = e[1]
    if esc < sc or (esc == sc and e[2] < sq) then lo = mid + 1 else hi = mid end
  end
  return lo
end

local function rest(o)
  local k, sc = K_ASKS, o[O_PRICE]
  if o[O_SIDE] == 'bid' then k, sc = K_BIDS, -sc end
  local m = member(o)
  adds[k][m] = N[sc]
  local b = known[k]
  if b and sc < b then known[k] = sc end
  local w = win[k]
  if w then
    local sq, n = o[O_SEQ], #w
    local last = w[n]
    if not last or last[1] < sc or (last[1] == sc and last[2] < sq) then
      -- after the window's last entry (a new order often is): only a whole side's window takes it
      if whole[k] then
        n = n + 1
        w[n] = {sc, sq, m}
      end
    else
      table.insert(w, position(w, sc, sq), {sc, sq, m})
      n = n + 1
    end
    -- keep it short: the tail goes (the window stays the side's first entries)
    if n > 4 * WINDOW then
      for j = n, 2 * WINDOW + 1, -1 do w[j] = nil end
      whole[k] = false
    end
  end
  set_expiry(o, 'add')
  level_add(o[O_SIDE], o[O_PRICE], o[O_REM], 1)
end

-- member m leaves side k (a ZREM at the end, unless it was added in this script)
local function leave(k, m)
  known[k] = false
  if adds[k][m] then adds[k][m] = nil else dels[k][m] = true end
end

local function unrest(o)
  local k = zkey(o[O_SIDE])
  local m = member(o)
  leave(k, m)
  local w = win[k]
  if w then
    local sc = o[O_PRICE]
    if k == K_BIDS then sc = -sc end
    local i = position(w, sc, o[O_SEQ])
    local e = w[i]
    if e and e[3] == m then table.remove(w, i) end
  end
  level_add(o[O_SIDE], o[O_PRICE], -o[O_REM], -1)
end

local function flush_expiry()
  if nx == 0 then return end
  local add, del, na, nr = {}, {}, 0, 0
  for i = 1, nx do
    local o = exp_orders[i]
    local change = o[O_EXPIRY]
    o[O_EXPIRY] = false
    if change == 'add' then
      if exp_lb and o[O_EXP] < exp_lb then -- the index's lower bound follows what is added
        exp_lb = o[O_EXP]
        exp_lb_dirty = true
      end
      add[na + 1] = N[o[O_EXP]]
      add[na + 2] = o[O_ID]
      na = na + 2
    elseif change == 'del' then
      nr = nr + 1
      del[nr] = o[O_ID]
    end
  end
  call_many('ZADD', K_EXPIRY, add, 2)
  call_many('ZREM', K_EXPIRY, del, 1)
  exp_written = true
  exp_orders = {}
  nx = 0
end

-- the level totals: each touched level's net change, applied with HINCRBY (a level whose count
-- reaches 0 is deleted); afterwards each entry holds the level's new totals
local function flush_levels()
  for _, lv in ipairs(changed) do
    if not lv[5] then
      lv[5] = true
      local dk = (lv[1] == 'bid') and K_DBIDS or K_DASKS
      local p = N[lv[2]]
      local pn = p .. ':n'
      local q, n
      if lv[3] ~= 0 then q = redis.call('HINCRBY', dk, p, lv[3]) end
      if lv[4] ~= 0 then n = redis.call('HINCRBY', dk, pn, lv[4]) end
      if not q or not n then
        local cur = redis.call('HMGET', dk, p, pn)
        q = q or (cur[1] or 0) + 0
        n = n or (cur[2] or 0) + 0
      end
      if n <= 0 then
        redis.call('HDEL', dk, p, pn)
        q = 0
        n = 0
      end
      lv[3] = q
      lv[4] = n
    end
  end
end

-- write every deferred change (idempotent: a second call writes nothing)
local function flush()
  if nd > 0 then
    local recs = {}
    for i = 1, nd do
      local o = dirty[i]
      o[O_DIRTY] = false
      recs[i + i - 1] = o[O_ID]
      recs[i + i] = o[O_STATUS] .. '|' .. o[O_SIDE] .. '|' .. o[O_USER] .. '|' .. -- its record
        N[o[O_PRICE]] .. '|' .. N[o[O_ORIG]] .. '|' .. N[o[O_REM]] .. '|' .. N[o[O_FILLED]] ..
        '|' .. N[o[O_CXL]] .. '|' .. N[o[O_EXPQ]] .. '|' .. N[o[O_SEQ]] .. '|' .. N[o[O_EXP]] ..
        '|' .. o[O_TIF] .. '|' .. o[O_AT]
    end
    call_many('HSET', K_ORDERS, recs, 2)
    nd = 0 -- (dirty[1..nd] is what is pending: the table is reused)
  end
  side_flush(K_BIDS)
  side_flush(K_ASKS)
  flush_expiry()
  if ndone > 0 then
    redis.call('RPUSH', K_DONE, SNOW .. '|' .. concat(done_ids, ','))
    done_ids = {}
    ndone = 0
  end
  if no > 0 then
    call_many('HSET', K_OUTCOMES, outcomes, 2)
    outcomes = {}
    no = 0
  end
  flush_levels()
end

local function expire_order(o)
  unrest(o)
  emit('["expired",' .. head(o) .. N[o[O_PRICE]] .. ',' .. N[o[O_REM]] .. ']')
  o[O_EXPQ] = o[O_EXPQ] + o[O_REM]
  o[O_REM] = 0
  o[O_STATUS] = 'expired'
  finish(o)
  save(o)
end

-- Expire up to `limit` due orders. The clock is the same for the whole script and nothing rests
-- with expires_at <= now, so once a sweep found fewer than `limit`, later ones would find none.
-- The meta hash keeps a lower bound of the index's scores (`exp_lb`): while it is in the
-- future nothing is due and the index is not read. After a sweep that found every due order the
-- bound is the first entry left (or EMPTY); adding lowers it (flush_expiry); a rebuild forgets it
-- (rebuild_begin), and a book without one sweeps as before and learns it.
local EMPTY = 9007199254740991 -- no entry: later than any expiry (2^53 - 1)
local function sweep(limit)
  if limit <= 0 or swept_all then return 0 end
  if exp_lb and exp_lb > NOW then
    swept_all = true
    return 0
  end
  flush_expiry()
  local ids = redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', NOW, 'LIMIT', 0, limit)
  if #ids < limit then
    swept_all = true
    local nxt = redis.call('ZRANGEBYSCORE', K_EXPIRY, '(' .. SNOW, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    exp_lb = nxt[2] and tonumber(nxt[2]) or EMPTY
    exp_lb_dirty = true
  end
  for _, id in ipairs(ids) do
    expire_order(load_order(id))
  end
  return #ids
end

-- the records of window entries i.. that cross and are not read yet (up to 4), in one HMGET
local function read_makers(w, i, bound)
  local want = {}
  for j = i, #w do
    local e = w[j]
    if e[1] > bound or #want == 4 then break end
    local id = sub(e[3], 17)
    if not cache[id] then want[#want + 1] = id end
  end
  if #want == 0 then return end
  local recs = redis.call('HMGET', K_ORDERS, unpack(want))
  for j, id in ipairs(want) do cache[id] = parse(id, recs[j]) end
end

-- Match taker t against the opposite side while prices cross. Own resting orders are passed
-- over (they keep their place); expired makers are expired on the spot and never trade.
-- Walks the side's window (reading more of the side when it runs out); the makers' records
-- are read a few at a time. Returns how many own crossing orders were passed over.
local function match(t)
  local opp = (t[O_SIDE] == 'bid') and K_ASKS or K_BIDS
  local bound = (t[O_SIDE] == 'bid') and t[O_PRICE] or -t[O_PRICE]
  local skipped = 0
  if not win[opp] then
    -- A side this call has not read or changed is at worst as good as the top of book when the
    -- call began (a sweep only takes orders away): a taker that does not reach it cannot trade.
    if not changed_side[(opp == K_ASKS) and 'ask' or 'bid'] then
      local top = (opp == K_ASKS) and top_ask or top_bid
      if top == 0 or (top and ((opp == K_ASKS and top > t[O_PRICE]) or
          (opp == K_BIDS and top < t[O_PRICE]))) then
        return 0
      end
    end
    load_window(opp, WINDOW)
  end
  local i = 1
  while t[O_REM] > 0 do
    local w = win[opp]
    local e = w[i]
    if not e then
      if whole[opp] then break end
      load_window(opp, #w * 2 + WINDOW)
      w = win[opp]
      e = w[i]
      if not e then break end
    end
    if e[1] > bound then break end
    local id = sub(e[3], 17)
    local m = cache[id]
    if not m then
      read_makers(w, i, bound)
      m = cache[id]
    end
    local mprice = m[O_PRICE] -- the entry's score is its price (negated for bids)
    if m[O_EXP] <= NOW then
      expire_order(m) -- leaves the window: entry i is the next one
    elseif m[O_USER] == t[O_USER] then
      skipped = skipped + 1
      i = i + 1
    else -- a trade
      local q = t[O_REM]
      if m[O_REM] < q then q = m[O_REM] end
      seq = seq + 1
      m[O_REM] = m[O_REM] - q
      m[O_FILLED] = m[O_FILLED] + q
      t[O_REM] = t[O_REM] - q
      t[O_FILLED] = t[O_FILLED] + q
      local s = fmt('%d', seq) -- (a new number: N's miss, without the metamethod)
      N[seq] = s
      nN = nN + 1
      local mps, qs = N[mprice], N[q]
      ne = ne + 1 -- emit(), inline
      nj = nj + 1
      events[ne] = '["trade","' .. VARIANT .. '-' .. s .. '",' .. mps .. ',' .. qs .. ',"' ..
        id .. '","' .. m[O_USER] .. '","' .. t[O_ID] .. '","' .. t[O_USER] .. '","' ..
        t[O_SIDE] .. '",' ..
        N[m[O_REM]] .. ',' .. N[t[O_REM]] .. ',' .. s .. ']'
      local j = nt * 4
      trades[j + 1] = s
      trades[j + 2] = mps
      trades[j + 3] = qs
      trades[j + 4] = t[O_SIDE]
      nt = nt + 1
      if m[O_REM] == 0 then
        leave(opp, e[3])
        table.remove(w, i)
        level_add(m[O_SIDE], mprice, -q, -1)
        m[O_STATUS] = 'filled'
        finish(m)
      else
        level_add(m[O_SIDE], mprice, -q, 0)
      end
      save(m)
    end
  end
  return skipped
end

-- After matching: rest a GTC remainder, or cancel it (IOC, or it would cross the taker's own
-- resting orders: self-trade prevention). Marks finished orders.
local function settle(t, skipped)
  if t[O_REM] > 0 then
    local reason = nil
    if t[O_TIF] == 'ioc' then reason = 'ioc' elseif skipped > 0 then reason = 'self_trade' end
    if reason then
      emit(ev_cancelled(t, t[O_REM], reason))
      t[O_CXL] = t[O_CXL] + t[O_REM]
      t[O_REM] = 0
    else
      rest(t)
      emit(ev_rested(t))
    end
  end
  if t[O_REM] == 0 then
    if t[O_FILLED] == t[O_ORIG] then t[O_STATUS] = 'filled' else t[O_STATUS] = 'cancelled' end
    finish(t)
  end
end

-- Place one order (the book is open; `prior` is its stored idempotency record, if any; `checks`
-- from new_checks); the numbers come as the strings the caller sent. Returns 'ok', its events
-- as JSON without the brackets; 'replay', the first outcome's record; or 'rej', code, message.
local function place_one(oid, user, side, sprice, sqty, tif, sexp, prior, checks)
  local placed = cache[oid] -- placed earlier in this batch: replay that outcome
  if placed and placed[O_BODY] then prior = SNOW .. '|[' .. placed[O_BODY] .. ']' end
  if prior then return 'replay', prior end
  local users_ok, prices, qtys, exps = checks.users, checks.prices, checks.qtys, checks.exps
  local user_ok = users_ok[user]
  if user_ok == nil then
    user_ok = valid_id(user)
    users_ok[user] = user_ok
  end
  if not (user_ok and valid_id(oid)) then
    return 'rej', 'invalid_id', 'ids must be 1-64 characters of A-Z a-z 0-9 _ . : -'
  end
  if side ~= 'bid' and side ~= 'ask' then return 'rej', 'invalid_side', 'side must be bid or ask' end
  local price, qty, exp = prices[sprice], qtys[sqty], 0
  if price == nil then
    price = whole_in(sprice, checks.min_price, checks.max_price)
    prices[sprice] = price
  end
  if not price then return 'rej', 'invalid_price', 'price out of bounds' end
  if qty == nil then
    qty = whole_in(sqty, 1, checks.max_qty)
    qtys[sqty] = qty
  end
  if not qty then return 'rej', 'invalid_quantity', 'quantity out of bounds' end
  if tif == 'gtc' then
    exp = exps[sexp]
    if exp == nil then
      exp = whole_in(sexp, NOW + 1, NOW + checks.max_exp)
      exps[sexp] = exp
    end
    if not exp then return 'rej', 'invalid_expiry', 'a GTC order needs expires_at in the future' end
  elseif tif == 'ioc' then
    -- an IOC's expires_at argument is its deadline (0: none): one that arrives after it (a
    -- request that stalled, a late retry) is refused, never executed late
    local deadline = tonumber(sexp)
    if deadline and deadline > 0 and deadline <= NOW then
      return 'rej', 'too_late', 'the order reached the book after its deadline'
    end
    exp = 0
  else
    return 'rej', 'invalid_time_in_force', 'time_in_force must be gtc or ioc'
  end
  local first = ne + 1
  if not swept_all then sweep(SWEEP_LIMIT) end
  seq = seq + 1
  local s, p, q, e = fmt('%d', seq), N[price], N[qty], N[exp]
  N[seq] = s
  nN = nN + 1
  -- O_BODY: '' until its events are known (an order placed by this script has a body)
  local o = {oid, 'open', side, user, price, qty, qty, 0, 0, 0, seq, exp, tif, SNOW, false, '', false}
  -- The accepted event takes its place before any trade and is written once the outcome is
  -- known: an order that simply rests (the common case) gets both its events in one string.
  ne = ne + 1
  nj = nj + 1
  local slot = ne
  local skipped = match(o)
  local rests_whole = ne == slot and skipped == 0 and tif == 'gtc'
  if rests_whole then -- no trade, nothing stops it resting
    rest(o)
    nj = nj + 1
    events[slot] = rested_events(oid, user, side, p, q, s, e)
  else
    events[slot] = '["accepted","' .. oid .. '","' .. user .. '","' .. side .. '",' .. p .. ',' ..
      q .. ',"' .. tif .. '",' .. e .. ',' .. s .. ']'
    settle(o, skipped)
  end
  save(o)
  local body = events[first]
  if ne > first then body = concat(events, ',', first, ne) end
  o[O_BODY] = body
  if not rests_whole or slot ~= first then -- else its record implies this outcome (rested_outcome)
    outcomes[no + 1] = oid
    outcomes[no + 2] = SNOW .. '|[' .. body .. ']'
    no = no + 2
  end
  return 'ok', body
end

local SIDES = {'bid', 'ask'}
local function best(side)
  local k = zkey(side)
  local w, p = win[k], known[k]
  if w and (w[1] or whole[k]) then -- the window starts where the side does
    if not w[1] then return 0, 0 end
    p = w[1][1]
  elseif p then -- nothing left the side in this call: no read of it
    if p == NO_SCORE then return 0, 0 end
  else
    local r = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if #r == 0 then return 0, 0 end
    p = r[2] + 0
  end
  if side == 'bid' then p = -p end
  local lv = levels[side][p]
  if lv then return p, lv[3] end
  local dk = (side == 'bid') and K_DBIDS or K_DASKS
  return p, (redis.call('HGET', dk, N[p]) or 0) + 0
end

-- Write the deferred changes, save the sequence, journal the events (`ev`: JSON; default the
-- command's `events`), refresh the top of book (kept in the meta hash) and publish the changed
-- levels. Only a side with a changed level is looked at again. Returns the events as JSON
-- ('[]' when the command did nothing).
local function commit(cmd, ev)
  flush()
  if not ev then
    if ne == 0 then
      if exp_lb_dirty then redis.call('HSET', K_META, 'exp_lb', N[exp_lb]) end
      return '[]'
    end
    ev = events_json()
  end
  redis.call('XADD', K_JOURNAL, '*', 'cmd', cmd, 'seq', N[seq], 'at', SNOW, 'ev', ev)
  if #changed == 0 then
    if exp_lb_dirty then
      redis.call('HSET', K_META, 'seq', N[seq], 'exp_lb', N[exp_lb])
    else
      redis.call('HSET', K_META, 'seq', N[seq])
    end
    return ev
  end
  local top = {'seq', N[seq]}
  if exp_lb_dirty then
    top[3] = 'exp_lb'
    top[4] = N[exp_lb]
  end
  -- the book update as JSON text (VARIANT was checked by open_book_or_refuse), by
  -- concatenation (see head)
  local update = {'{"book":"' .. VARIANT .. '","seq":' .. N[seq] .. ',"at":' .. SNOW ..
    ',"levels":['}
  for i, lv in ipairs(changed) do
    update[i + 1] = '["' .. lv[1] .. '",' .. N[lv[2]] .. ',' .. N[lv[3]] .. ',' .. N[lv[4]] ..
      (i < #changed and '],' or ']]')
  end
  for i = 1, 2 do
    local side = SIDES[i]
    if changed_side[side] then
      local p, q = best(side)
      p, q = N[p], N[q]
      top[#top + 1] = side
      top[#top + 1] = p
      top[#top + 1] = side .. '_qty'
      top[#top + 1] = q
      update[#update + 1] = ',"' .. side .. '":[' .. p .. ',' .. q .. ']'
    end
  end
  if nt > 0 then
    -- only the newest RECENT trades can stay in the capped list: push those, oldest first
    local pushed = {}
    local first = 1
    if RECENT > 0 and nt > RECENT then first = nt - RECENT + 1 end
    for i = first, nt do
      local j = (i - 1) * 4
      pushed[#pushed + 1] = SNOW .. '|' .. VARIANT .. '-' .. trades[j + 1] .. '|' .. trades[j + 2] ..
        '|' .. trades[j + 3] .. '|' .. trades[j + 4]
    end
    call_many('LPUSH', K_TRADES, pushed, 1)
    redis.call('LTRIM', K_TRADES, 0, RECENT - 1)
    local j = (nt - 1) * 4
    local tid = VARIANT .. '-' .. trades[j + 1]
    local price, qty = trades[j + 2], trades[j + 3]
    update[#update + 1] = ',"last":["' .. tid .. '",' .. price .. ',' .. qty .. ',' .. SNOW .. ']'
    top[#top + 1] = 'last_trade'
    top[#top + 1] = tid
    top[#top + 1] = 'last_price'
    top[#top + 1] = price
    top[#top + 1] = 'last_qty'
    top[#top + 1] = qty
    top[#top + 1] = 'last_at'
    top[#top + 1] = SNOW
  end
  redis.call('HSET', K_META, unpack(top))
  update[#update + 1] = '}'
  redis.call('PUBLISH', CHANNEL, concat(update))
  return ev
end
