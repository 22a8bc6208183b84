"""The public market-data feed: `python -m sneakers_app market-feed`.

`protocol` is the wire format and the rules of a request (pure code, shared with clients, tests
and the benchmark); `server` is the process: one Redis pub/sub subscriber, a mirror of every
book someone follows, and a websockets server at `/api/v1/stream` (docs/feed.md,
docs/asyncapi.yaml).
"""
