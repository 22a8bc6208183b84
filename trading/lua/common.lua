-- Shared prelude of every book script (trading/scripts.py puts it in front of each command).
-- KEYS: the book's keys, all hash-tagged {book:<variant_id>} so one script touches one slot.
-- ARGV[1..5]: variant id, channel, now (epoch ms), sweep limit, recent trades length.
-- Command arguments start at ARGV[6]. Scripts validate before the first write and return
-- {'rej', code, message} instead of raising: a refused command changes nothing.
local K_META, K_BIDS, K_ASKS, K_DBIDS, K_DASKS, K_ORDERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local K_OUTCOMES, K_EXPIRY, K_DONE, K_JOURNAL, K_TRADES = KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local VARIANT = ARGV[1]
local CHANNEL = ARGV[2]
local NOW = tonumber(ARGV[3])
local SWEEP_LIMIT = tonumber(ARGV[4])
local RECENT = tonumber(ARGV[5])

local events = {}
local changed = {}
local seen = {}
local trades = {}
local seq = 0

-- integers below 1e14 print exactly with Lua's number format, which is cheaper than format()
local function I(n) return tostring(n) end

local function rej(code, message) return {'rej', code, message} end

local function book_state()
  return redis.call('HGET', K_META, 'state')
end

local function load_seq()
  seq = tonumber(redis.call('HGET', K_META, 'seq') or '0')
end

-- state and sequence in one read; returns a refusal or nil
local function open_book_or_refuse()
  local m = redis.call('HMGET', K_META, 'state', 'seq')
  if not m[1] then return rej('unknown_book', 'no order book for this variant') end
  if m[1] ~= 'open' then return rej('book_halted', 'the order book is being rebuilt') end
  seq = tonumber(m[2] or '0')
  return nil
end

-- order record: status|side|user|price|submitted|remaining|filled|cancelled|expired|seq|expires_at|tif
local function parse(id, rec)
  local st, side, user, price, orig, rem, filled, cxl, expq, s, exp, tif = string.match(rec,
    '^(%l+)|(%l+)|([^|]+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%l+)$')
  return {id = id, status = st, side = side, user = user, price = tonumber(price),
    orig = tonumber(orig), rem = tonumber(rem), filled = tonumber(filled), cxl = tonumber(cxl),
    expq = tonumber(expq), seq = tonumber(s), exp = tonumber(exp), tif = tif}
end

local function pack(o)
  return o.status .. '|' .. o.side .. '|' .. o.user .. '|' .. I(o.price) .. '|' .. I(o.orig) .. '|' ..
    I(o.rem) .. '|' .. I(o.filled) .. '|' .. I(o.cxl) .. '|' .. I(o.expq) .. '|' .. I(o.seq) .. '|' ..
    I(o.exp) .. '|' .. o.tif
end

local function load_order(id)
  local rec = redis.call('HGET', K_ORDERS, id)
  if not rec then return nil end
  return parse(id, rec)
end

local function save(o) redis.call('HSET', K_ORDERS, o.id, pack(o)) end

-- Sides are ZSETs with the integer price as score (negated on the bid side, so both sides iterate
-- best-first in ascending order) and member '<15-digit sequence>|<order id>': equal scores sort
-- by member, i.e. by sequence, which is time priority.
local function member(o) return string.format('%015d|%s', o.seq, o.id) end
local function zkey(side) if side == 'bid' then return K_BIDS end return K_ASKS end
local function score(side, price) if side == 'bid' then return -price end return price end

-- levels[side..price] = {side, price, qty, count}; count is false when not known yet
local levels = {}
local changed_side = {}

local function level_add(side, price, dq, dn)
  local dk = (side == 'bid') and K_DBIDS or K_DASKS
  local p = I(price)
  local k = side .. p
  local lv = levels[k]
  if not lv then
    lv = {side, price, 0, false}
    levels[k] = lv
    changed[#changed + 1] = lv
  end
  changed_side[side] = true
  if dq ~= 0 then lv[3] = redis.call('HINCRBY', dk, p, dq) end
  if dn ~= 0 then
    local n = redis.call('HINCRBY', dk, p .. ':n', dn)
    lv[4] = n
    if n <= 0 then
      redis.call('HDEL', dk, p, p .. ':n')
      lv[3] = 0
      lv[4] = 0
    end
  end
end

local function rest(o)
  redis.call('ZADD', zkey(o.side), score(o.side, o.price), member(o))
  redis.call('ZADD', K_EXPIRY, o.exp, o.id)
  level_add(o.side, o.price, o.rem, 1)
end

local function unrest(o)
  redis.call('ZREM', zkey(o.side), member(o))
  level_add(o.side, o.price, -o.rem, -1)
end

local function finish(o)
  redis.call('ZREM', K_EXPIRY, o.id)
  redis.call('ZADD', K_DONE, NOW, o.id)
end

local function expire_order(o)
  unrest(o)
  events[#events + 1] = {type = 'expired', order = o.id, user = o.user, side = o.side,
    price = o.price, qty = o.rem}
  o.expq = o.expq + o.rem
  o.rem = 0
  o.status = 'expired'
  finish(o)
  save(o)
end

local function sweep(limit)
  if limit <= 0 then return 0 end
  local ids = redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', NOW, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local o = load_order(id)
    expire_order(o)
  end
  return #ids
end

-- Match taker t against the opposite side while prices cross. Own resting orders are passed
-- over (they keep their place); expired makers are expired on the spot and never trade.
-- Returns how many own crossing orders were passed over.
local function match(t)
  local opp = (t.side == 'bid') and K_ASKS or K_BIDS
  local idx = 0
  local skipped = 0
  while t.rem > 0 do
    local top = redis.call('ZRANGE', opp, idx, idx, 'WITHSCORES')
    if #top == 0 then break end
    local mprice = tonumber(top[2])
    if t.side == 'bid' then
      if mprice > t.price then break end
    else
      mprice = -mprice
      if mprice < t.price then break end
    end
    local m = load_order(string.sub(top[1], 17))
    if m.exp <= NOW then
      expire_order(m)
    elseif m.user == t.user then
      idx = idx + 1
      skipped = skipped + 1
    else
      local q = t.rem
      if m.rem < q then q = m.rem end
      seq = seq + 1
      m.rem = m.rem - q
      m.filled = m.filled + q
      t.rem = t.rem - q
      t.filled = t.filled + q
      local trade = {type = 'trade', trade = VARIANT .. '-' .. I(seq), price = mprice, qty = q,
        maker = m.id, maker_user = m.user, taker = t.id, taker_user = t.user, side = t.side,
        maker_left = m.rem, taker_left = t.rem, seq = seq}
      events[#events + 1] = trade
      trades[#trades + 1] = trade
      if m.rem == 0 then
        redis.call('ZREM', opp, top[1])
        level_add(m.side, mprice, -q, -1)
        m.status = 'filled'
        finish(m)
      else
        level_add(m.side, mprice, -q, 0)
      end
      save(m)
    end
  end
  return skipped
end

-- After matching: rest a GTC remainder, or cancel it (IOC, or it would cross the taker's own
-- resting orders: self-trade prevention). Marks finished orders.
local function settle(t, skipped)
  if t.rem > 0 then
    local reason = nil
    if t.tif == 'ioc' then reason = 'ioc' elseif skipped > 0 then reason = 'self_trade' end
    if reason then
      events[#events + 1] = {type = 'cancelled', order = t.id, user = t.user, side = t.side,
        price = t.price, qty = t.rem, reason = reason}
      t.cxl = t.cxl + t.rem
      t.rem = 0
    else
      rest(t)
      events[#events + 1] = {type = 'rested', order = t.id, user = t.user, side = t.side,
        price = t.price, qty = t.rem, seq = t.seq, exp = t.exp}
    end
  end
  if t.rem == 0 then
    if t.filled == t.orig then t.status = 'filled' else t.status = 'cancelled' end
    finish(t)
  end
end

local function best(side)
  local r = redis.call('ZRANGE', zkey(side), 0, 0, 'WITHSCORES')
  if #r == 0 then return 0, 0 end
  local p = tonumber(r[2])
  if side == 'bid' then p = -p end
  local lv = levels[side .. I(p)]
  if lv then return p, lv[3] end
  local dk = (side == 'bid') and K_DBIDS or K_DASKS
  return p, tonumber(redis.call('HGET', dk, I(p)) or '0')
end

-- Save the sequence, journal the events, refresh the top of book (kept in the meta hash) and
-- publish the changed levels. Only a side with a changed level is looked at again. Returns the
-- events as JSON ('[]' when the command did nothing).
local function commit(cmd)
  if #events == 0 then return '[]' end
  local ev = cjson.encode(events)
  redis.call('XADD', K_JOURNAL, '*', 'cmd', cmd, 'seq', I(seq), 'at', I(NOW), 'ev', ev)
  if #changed == 0 then
    redis.call('HSET', K_META, 'seq', I(seq))
    return ev
  end
  local top = {'seq', I(seq)}
  local update = {book = VARIANT, seq = seq, at = NOW}
  for _, side in ipairs({'bid', 'ask'}) do
    if changed_side[side] then
      local p, q = best(side)
      top[#top + 1] = side
      top[#top + 1] = p
      top[#top + 1] = side .. '_qty'
      top[#top + 1] = q
      update[side] = {p, q}
    end
  end
  local out = {}
  for i, lv in ipairs(changed) do
    if lv[4] == false then
      local dk = (lv[1] == 'bid') and K_DBIDS or K_DASKS
      lv[4] = tonumber(redis.call('HGET', dk, I(lv[2]) .. ':n') or '0')
    end
    out[i] = lv
  end
  update.levels = out
  if #trades > 0 then
    local pushed = {}
    for i, t in ipairs(trades) do
      pushed[i] = I(NOW) .. '|' .. t.trade .. '|' .. I(t.price) .. '|' .. I(t.qty) .. '|' .. t.side
    end
    redis.call('LPUSH', K_TRADES, unpack(pushed))
    redis.call('LTRIM', K_TRADES, 0, RECENT - 1)
    local l = trades[#trades]
    update.last = {l.trade, l.price, l.qty, NOW}
    top[#top + 1] = 'last_trade'
    top[#top + 1] = l.trade
    top[#top + 1] = 'last_price'
    top[#top + 1] = l.price
    top[#top + 1] = 'last_qty'
    top[#top + 1] = l.qty
    top[#top + 1] = 'last_at'
    top[#top + 1] = I(NOW)
  end
  redis.call('HSET', K_META, unpack(top))
  redis.call('PUBLISH', CHANNEL, cjson.encode(update))
  return ev
end
