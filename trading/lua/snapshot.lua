-- snapshot (read only): sequence, then bid members and records, then ask members and records,
-- all in matching priority.
local function side(k)
  local members = redis.call('ZRANGE', k, 0, -1)
  local recs = {}
  for i, m in ipairs(members) do
    recs[i] = redis.call('HGET', K_ORDERS, string.sub(m, 17)) or ''
  end
  return members, recs
end
local bm, br = side(K_BIDS)
local am, ar = side(K_ASKS)
return {redis.call('HGET', K_META, 'seq') or '0', redis.call('HGET', K_META, 'state') or '', bm, br, am, ar}
