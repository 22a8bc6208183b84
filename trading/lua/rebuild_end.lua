-- rebuild_end: reopen the book, refresh the top-of-book hash, publish a reset update.
load_seq()
local bid, bid_qty = best('bid')
local ask, ask_qty = best('ask')
redis.call('HSET', K_META, 'bid', bid, 'bid_qty', bid_qty, 'ask', ask, 'ask_qty', ask_qty, 'seq', N[seq], 'state', 'open')
redis.call('PUBLISH', CHANNEL, cjson.encode({book = VARIANT, seq = seq, at = NOW, reset = 1,
  bid = {bid, bid_qty}, ask = {ask, ask_qty}}))
return {'ok', seq}
