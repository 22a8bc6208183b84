"""The market-data feed process: `python -m sneakers_app market-feed` (docs/feed.md).

One Redis pub/sub subscriber per process (every book's channel, `{book:*}:updates`, as the web
tier's `live.py`), a mirror of each book someone here follows (a `Market`), and a websockets
server at `/api/v1/stream` (plus `/healthz` and `/readyz` on the same port).

A mirror is loaded with ONE MULTI/EXEC (the meta hash with the book's sequence and top, both
depth hashes: one book's keys share the `{book:V}` hash tag, so this holds on a Redis Cluster
too) while the subscription is already running; the same MULTI/EXEC publishes a marker to this
process's own channel, so the updates that arrive before the marker are in what was read and
those after it are applied on top (the book's sequence cannot tell them apart: a cancel or an
expiry publishes without advancing it). From then on each update is applied to the
mirror as it arrives, and merged into the book's pending change (coalescing: levels merged, the
first `prev_seq` and the last `seq` kept). One flusher task sends each book's pending change,
serialised once, to all its subscribers (`websockets.broadcast`: the frames are written without
waiting for any client), then a snapshot of the mirror as of that very sequence to those who
joined or asked to resync since, so every client's stream is snapshot, update, update, ... with
each `prev_seq` equal to the `seq` before it. A book that falls behind (updates faster than the
process can send them) is sent fewer, larger updates; nothing queues up per update.

A client whose socket does not take what it is sent (its write buffer above
FEED_MAX_CLIENT_BUFFER_BYTES) is left out of its books' and tickers' broadcasts until it has
drained, then gets fresh snapshots: a slow client costs the others nothing and the process a
bounded buffer. A reset from the engine (a rebuilt book) and a lost pub/sub connection reload
the mirrors and send every subscriber a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.asyncio.server import serve as websockets_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from sneakers_app.feed import protocol
from sneakers_app.feed.protocol import FeedError, LocalBook, Ticker
from sneakers_app.settings import Settings, get_settings
from trading import market_data
from trading.keys import book_keys, variant_of_key

log = logging.getLogger(__name__)

PATTERN = "{book:*}:updates"
"""Every book's channel (`market_data.channel(v)`); braces are literal in Redis glob patterns."""
RECENT_TRADES = 100
"""Trades read from a book's recent-trades list to find those of an update (the engine keeps
100): a command that fills more makers than this publishes its earlier fills to nobody."""
LOAD_TIMEOUT_S = 10.0
YIELD_EVERY = 200
"""The subscriber lets the flusher run after this many messages read without waiting."""


@dataclass(frozen=True)
class FeedConfig:
    redis_url: str
    host: str = "127.0.0.1"
    port: int = 8765
    max_subscriptions: int = 50
    max_connections_per_ip: int = 20
    max_message_bytes: int = 4096
    subscribe_deadline_s: float = 5.0
    heartbeat_s: float = 1.0
    max_client_buffer_bytes: int = 1_048_576
    trusted_proxy_hops: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedConfig:
        return cls(
            redis_url=settings.redis_url,
            host=settings.FEED_HOST,
            port=settings.FEED_PORT,
            max_subscriptions=settings.FEED_MAX_SUBSCRIPTIONS,
            max_connections_per_ip=settings.FEED_MAX_CONNECTIONS_PER_IP,
            max_message_bytes=settings.FEED_MAX_MESSAGE_BYTES,
            subscribe_deadline_s=settings.FEED_SUBSCRIBE_DEADLINE_SECONDS,
            heartbeat_s=settings.FEED_HEARTBEAT_SECONDS,
            max_client_buffer_bytes=settings.FEED_MAX_CLIENT_BUFFER_BYTES,
            trusted_proxy_hops=settings.FEED_TRUSTED_PROXY_HOPS,
        )

    @property
    def hard_max_bytes(self) -> int:
        """A frame larger than this closes the connection (1009); up to it, a request over
        `max_message_bytes` is answered with an error."""
        return self.max_message_bytes * 16


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _subscriber_url(url: str) -> str:
    """Pub/sub messages are broadcast to every node of a Redis Cluster, so one node will do."""
    if url.startswith("redis+cluster://"):
        return url.replace("redis+cluster://", "redis://", 1)
    return url


def _reader(url: str) -> Any:
    if url.startswith("redis+cluster://"):
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(url.replace("redis+cluster://", "redis://", 1))
    return aioredis.Redis.from_url(url)


@dataclass(eq=False)
class Client:
    ws: ServerConnection
    ip: str
    heartbeats: int = 0
    books: set[str] = field(default_factory=set)
    trades: set[str] = field(default_factory=set)
    tickers: set[str] = field(default_factory=set)
    subscribed_once: bool = False
    lagging: bool = False
    closed: bool = False
    max_buffer: int = 4 * 1_048_576
    """Unsent bytes past which the connection is closed (1008): four times
    FEED_MAX_CLIENT_BUFFER_BYTES, the mark at which it stops getting book and ticker messages.
    Its trades, answers and heartbeats are checked against this before each write, so one
    client that reads nothing holds a bounded buffer."""

    def subscriptions(self) -> int:
        return len(self.books) + len(self.trades) + len(self.tickers)


@dataclass
class Pending:
    """The changes of a book not sent yet, merged."""

    prev_seq: int
    seq: int
    at: int
    changes: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(eq=False)
class Market:
    """What this process knows and serves of one book."""

    key: str
    variant_id: int
    state: str = "loading"  # loading | ready | missing
    book: LocalBook = field(default_factory=LocalBook)
    bid: protocol.Level | None = None
    ask: protocol.Level | None = None
    last_trade: tuple[str, int, int, int] | None = None
    buffer: list[market_data.BookUpdate] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    book_subs: set[Client] = field(default_factory=set)
    book_joiners: set[Client] = field(default_factory=set)
    trade_subs: set[Client] = field(default_factory=set)
    ticker_subs: set[Client] = field(default_factory=set)
    ticker_joiners: set[Client] = field(default_factory=set)
    pending: Pending | None = None
    ticker_dirty: bool = False
    trade_ranges: list[tuple[int, int]] = field(default_factory=list)
    trades_wake: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    load_task: asyncio.Task[None] | None = None
    holds: int = 0
    laggards: set[Client] = field(default_factory=set)
    """Its book and ticker subscribers left out while they drain (`_set_lagging`): the
    market stays for them."""
    reloaded_from: int | None = None
    load_id: str = ""
    marked: asyncio.Event = field(default_factory=asyncio.Event)

    def unused(self) -> bool:
        return not (
            self.holds
            or self.laggards
            or self.book_subs
            or self.book_joiners
            or self.trade_subs
            or self.ticker_subs
            or self.ticker_joiners
        )

    def ticker(self) -> Ticker:
        return Ticker(seq=self.book.seq, bid=self.bid, ask=self.ask, last_trade=self.last_trade)


def _quote(price: int, quantity: int) -> protocol.Level | None:
    return (price, quantity) if price else None


class Feed:
    """The process's state: its markets, its clients and the tasks that feed them."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self.markets: dict[str, Market] = {}
        self.clients: set[Client] = set()
        self.per_ip: dict[str, int] = {}
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.redis: Any = _reader(config.redis_url)
        self.sync_channel = f"feed-sync:{uuid.uuid4().hex}"
        """Where each mirror's read publishes its marker (see `_load`): this process only."""
        self.messages = 0
        self._loads = 0
        self._tasks: list[asyncio.Task[None]] = []

    # --- the process's tasks ------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="feed-subscriber"),
            loop.create_task(self._flusher(), name="feed-flusher"),
            loop.create_task(self._heartbeats(), name="feed-heartbeats"),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks]
        for market in self.markets.values():
            tasks += market.tasks
            if market.load_task is not None:
                tasks.append(market.load_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            client = aioredis.Redis.from_url(_subscriber_url(self.config.redis_url))
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(PATTERN)
                await pubsub.subscribe(self.sync_channel)
                for kind in ("psubscribe", "subscribe"):
                    confirm = await pubsub.get_message(timeout=5.0)
                    if confirm is None or confirm.get("type") != kind:
                        raise RedisConnectionError("no confirmation of the subscription")
                # From here on no update is missed: (re)load every mirror, whose subscribers
                # then get a fresh snapshot (messages may have been lost while it was down).
                for market in list(self.markets.values()):
                    self._reload(market)
                self.subscribed.set()
                backoff = 0.2
                read = 0
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    kind = message.get("type")
                    if kind == "pmessage":
                        self._on_message(message["channel"], message["data"])
                    elif kind == "message":
                        self._on_marker(_s(message["data"]))
                    read += 1
                    if read % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("market feed: subscriber lost Redis (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _on_message(self, channel: Any, data: Any) -> None:
        market = self.markets.get(variant_of_key(_s(channel)))
        if market is None:
            return
        try:
            update = market_data.parse_update(data)
        except (ValueError, KeyError, TypeError, IndexError):
            log.warning("market feed: ignoring a malformed book update")
            return
        self.messages += 1
        if market.state != "ready":
            market.buffer.append(update)
        elif update.reset:
            self._reload(market)
        else:
            self._apply(market, update)

    def _on_marker(self, load_id: str) -> None:
        """A mirror's read reached this point of the stream: the updates buffered so far are in
        it, those after it are not."""
        market = self.markets.get(load_id.split(":", 1)[0])
        if market is not None and market.state == "loading" and market.load_id == load_id:
            market.buffer.clear()
            market.marked.set()

    def _apply(self, market: Market, update: market_data.BookUpdate) -> None:
        """One update from the engine (the next after the mirror's), on a ready mirror."""
        book = market.book
        prev = book.seq
        changes = [(side, lv.price_cents, lv.quantity) for side, lv in update.levels]
        book.apply(changes)
        book.seq = update.sequence
        if market.book_subs:
            pending = market.pending
            if pending is None:
                pending = market.pending = Pending(prev_seq=prev, seq=prev, at=update.at)
            pending.seq = update.sequence
            pending.at = update.at
            for side, price, quantity in changes:
                pending.changes[(side, price)] = quantity
        ticker = False
        if update.bid is not None:
            bid = _quote(update.bid.price_cents or 0, update.bid.quantity)
            ticker |= bid != market.bid
            market.bid = bid
        if update.ask is not None:
            ask = _quote(update.ask.price_cents or 0, update.ask.quantity)
            ticker |= ask != market.ask
            market.ask = ask
        last = update.last_trade
        if last is not None:
            market.last_trade = (last.trade_id, last.price_cents, last.quantity, last.at)
            ticker = True
            if market.trade_subs:
                market.trade_ranges.append((prev, update.sequence))
                market.trades_wake.set()
        market.ticker_dirty |= ticker
        self._mark(market)

    def _mark(self, market: Market) -> None:
        self.dirty.add(market.key)
        self.wake.set()

    # --- loading a mirror -----------------------------------------------------------------------

    def _market(self, variant_id: int) -> Market:
        key = str(variant_id)
        market = self.markets.get(key)
        if market is None:
            market = Market(key=key, variant_id=variant_id)
            self.markets[key] = market
            trades = asyncio.get_running_loop().create_task(
                self._trades(market), name=f"feed-trades-{key}"
            )
            market.tasks.add(trades)
            market.load_task = asyncio.get_running_loop().create_task(
                self._load(market), name=f"feed-load-{key}"
            )
        return market

    def _reload(self, market: Market) -> None:
        """Read the book again (after a reset or a lost subscription): its subscribers get a
        fresh snapshot, its tickers a fresh message, its trade subscribers the trades since."""
        if market.state == "ready":
            market.reloaded_from = market.book.seq
        market.state = "loading"
        market.buffer.clear()
        market.pending = None
        market.book_joiners |= market.book_subs
        market.book_subs.clear()
        market.ticker_joiners |= market.ticker_subs
        market.ticker_subs.clear()
        if market.load_task is not None and market.load_task is not asyncio.current_task():
            market.load_task.cancel()
        market.load_task = asyncio.get_running_loop().create_task(
            self._load(market), name=f"feed-load-{market.key}"
        )

    async def _load(self, market: Market) -> None:
        """Read the book in ONE MULTI/EXEC that also publishes a marker to this process's own
        channel, on the connection that receives the updates: the updates that arrive before
        the marker are in what was read, those after it are not. (The book's sequence cannot
        tell: a cancel or an expiry publishes its change without advancing it, so an update
        may carry the same `seq` as the snapshot and still be newer.)"""
        backoff = 0.1
        while True:
            await self.subscribed.wait()
            self._loads += 1
            market.load_id = f"{market.key}:{self._loads}"
            market.marked.clear()
            market.buffer.clear()
            keys = book_keys(market.key)
            try:
                pipe = self.redis.pipeline(transaction=True)
                pipe.hgetall(keys.meta)
                pipe.hgetall(keys.depth_bids)
                pipe.hgetall(keys.depth_asks)
                pipe.publish(self.sync_channel, market.load_id)
                meta_raw, bids_raw, asks_raw, receivers = await pipe.execute()
                if not receivers:
                    raise RedisConnectionError("the feed's own subscription is gone")
                async with asyncio.timeout(5.0):
                    await market.marked.wait()
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("market feed: reading book %s failed (%r); retrying", market.key, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            meta = {_s(k): _s(v) for k, v in _as_map(meta_raw).items()}
            if meta.get("state") == "rebuilding":
                await asyncio.sleep(0.2)  # its reset follows; serve no half-loaded book
                continue
            break
        if "state" not in meta:
            market.state = "missing"
            market.loaded.set()
            self._missing(market)
            return
        book = LocalBook(
            bids=_levels(_as_map(bids_raw)),
            asks=_levels(_as_map(asks_raw)),
            seq=int(meta.get("seq", 0)),
        )
        market.book = book
        market.bid = _quote(int(meta.get("bid", 0)), int(meta.get("bid_qty", 0)))
        market.ask = _quote(int(meta.get("ask", 0)), int(meta.get("ask_qty", 0)))
        if "last_trade" in meta:
            market.last_trade = (
                meta["last_trade"],
                int(meta["last_price"]),
                int(meta["last_qty"]),
                int(meta["last_at"]),
            )
        market.state = "ready"
        market.loaded.set()
        if market.reloaded_from is not None and market.trade_subs:
            if book.seq > market.reloaded_from:
                market.trade_ranges.append((market.reloaded_from, book.seq))
                market.trades_wake.set()
        market.reloaded_from = None
        buffered, market.buffer = market.buffer, []
        for update in buffered:
            if update.reset:
                self._reload(market)
                return
            self._apply(market, update)
        market.ticker_dirty = False  # every ticker subscriber is joining: they get it whole
        self._mark(market)

    def _missing(self, market: Market) -> None:
        """The book is gone (it existed when they subscribed): tell its subscribers."""
        message = protocol.error_message(
            protocol.UNKNOWN_VARIANT, f"variant {market.key} has no order book"
        )
        for client in {*market.book_joiners, *market.ticker_joiners, *market.trade_subs}:
            client.books.discard(market.key)
            client.tickers.discard(market.key)
            client.trades.discard(market.key)
            _send(client, message)
        market.book_joiners.clear()
        market.ticker_joiners.clear()
        market.trade_subs.clear()
        self._release(market)

    def _release(self, market: Market) -> None:
        if not market.unused() or self.markets.get(market.key) is not market:
            return
        del self.markets[market.key]
        self.dirty.discard(market.key)
        for task in [*market.tasks, market.load_task]:
            if task is not None:
                task.cancel()

    async def _trades(self, market: Market) -> None:
        """Send the trades of the updates that carried some, oldest first, read from the
        book's recent-trades list (each update names only its last trade)."""
        key = book_keys(market.key).trades
        while True:
            await market.trades_wake.wait()
            market.trades_wake.clear()
            ranges, market.trade_ranges = market.trade_ranges, []
            if not ranges or not market.trade_subs:
                continue
            low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
            try:
                raw = await self.redis.lrange(key, 0, RECENT_TRADES - 1)
            except (RedisError, OSError) as exc:
                log.warning("market feed: reading trades of %s failed (%s)", market.key, exc)
                continue
            found = []
            for entry in raw:
                at_text, trade_id, price, qty, side = _s(entry).split("|")
                seq = int(trade_id.rsplit("-", 1)[1])
                if low < seq <= high:
                    found.append((seq, trade_id, int(price), int(qty), side, int(at_text)))
            for _seq, trade_id, price_cents, quantity, taker, at in sorted(found):
                text = protocol.trade_message(
                    market.variant_id,
                    trade_id=trade_id,
                    price_cents=price_cents,
                    quantity=quantity,
                    taker_side=taker,
                    at=at,
                )
                broadcast(_open(market.trade_subs), text)

    # --- sending --------------------------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            dirty, self.dirty = self.dirty, set()
            for key in dirty:
                market = self.markets.get(key)
                if market is not None and market.state == "ready":
                    try:
                        self._flush(market)
                    except Exception:
                        log.exception("market feed: sending book %s failed", key)

    def _flush(self, market: Market) -> None:
        """Bring every subscriber of the book to its mirror's sequence: the pending change to
        those following it, then a snapshot to those joining (both serialised once)."""
        pending, market.pending = market.pending, None
        if pending is not None and market.book_subs:
            changes = [(side, price, qty) for (side, price), qty in pending.changes.items()]
            text = protocol.update_message(
                market.variant_id,
                seq=pending.seq,
                prev_seq=pending.prev_seq,
                at=pending.at,
                changes=changes,
                check=market.book.checksum(),
            )
            broadcast(_open(market.book_subs), text)
        if market.book_joiners:
            joiners, market.book_joiners = market.book_joiners, set()
            broadcast(_open(joiners), protocol.snapshot_message(market.variant_id, market.book))
            market.book_subs |= joiners
        if market.ticker_dirty and market.ticker_subs:
            broadcast(
                _open(market.ticker_subs),
                protocol.ticker_message(market.variant_id, market.ticker()),
            )
        market.ticker_dirty = False
        if market.ticker_joiners:
            joiners, market.ticker_joiners = market.ticker_joiners, set()
            broadcast(_open(joiners), protocol.ticker_message(market.variant_id, market.ticker()))
            market.ticker_subs |= joiners

    async def _heartbeats(self) -> None:
        """Each second: a heartbeat to every client (its own counter), and the slow clients'
        check: one whose socket holds more than FEED_MAX_CLIENT_BUFFER_BYTES unsent is left
        out of its books and tickers until it drained to a quarter of that, then rejoins them
        (a fresh snapshot each)."""
        limit = self.config.max_client_buffer_bytes
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            now = int(time.time() * 1000)
            for client in list(self.clients):
                if client.closed:
                    continue
                transport = client.ws.transport
                buffered = transport.get_write_buffer_size() if transport is not None else 0
                if buffered > limit:
                    if not client.lagging:
                        self._set_lagging(client, True)
                    continue
                if client.lagging:
                    if buffered > limit // 4:
                        continue
                    self._set_lagging(client, False)
                client.heartbeats += 1
                _send(client, protocol.heartbeat_message(client.heartbeats, now))

    def _set_lagging(self, client: Client, lagging: bool) -> None:
        client.lagging = lagging
        for key in client.books | client.tickers:
            market = self.markets.get(key)
            if market is None:
                continue
            if lagging:
                market.book_subs.discard(client)
                market.book_joiners.discard(client)
                market.ticker_subs.discard(client)
                market.ticker_joiners.discard(client)
                market.laggards.add(client)
            else:
                market.laggards.discard(client)
                if key in client.books:
                    market.book_joiners.add(client)
                if key in client.tickers:
                    market.ticker_joiners.add(client)
                self._mark(market)
        if lagging:
            log.info("market feed: a client of %s fell behind; it resyncs once drained", client.ip)

    # --- connections ----------------------------------------------------------------------------

    def client_ip(self, ws: ServerConnection, headers: Headers | None = None) -> str:
        hops = self.config.trusted_proxy_hops
        if hops and headers is not None:
            forwarded = [
                part.strip()
                for value in headers.get_all("X-Forwarded-For")
                for part in value.split(",")
                if part.strip()
            ]
            if len(forwarded) >= hops:
                return forwarded[-hops]
        address = ws.remote_address
        return str(address[0]) if address else "?"

    def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return ws.respond(HTTPStatus.OK, "ok\n")
        if path == "/readyz":
            if self.subscribed.is_set():
                return ws.respond(HTTPStatus.OK, "ready\n")
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "not subscribed to Redis\n")
        if path != protocol.STREAM_PATH:
            return ws.respond(HTTPStatus.NOT_FOUND, f"the stream is at {protocol.STREAM_PATH}\n")
        ip = self.client_ip(ws, request.headers)
        if self.per_ip.get(ip, 0) >= self.config.max_connections_per_ip:
            return ws.respond(
                HTTPStatus.TOO_MANY_REQUESTS, "too many connections from this address\n"
            )
        return None

    async def handle(self, ws: ServerConnection) -> None:
        ip = self.client_ip(ws, ws.request.headers if ws.request is not None else None)
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        client = Client(ws=ws, ip=ip, max_buffer=4 * self.config.max_client_buffer_bytes)
        try:
            if self.per_ip[ip] > self.config.max_connections_per_ip:
                # (handshakes that passed process_request together)
                await ws.close(1013, "too many connections from this address")
                return
            self.clients.add(client)
            deadline = asyncio.get_running_loop().call_later(
                self.config.subscribe_deadline_s, self._deadline, client
            )
            try:
                async for message in ws:
                    try:
                        request = protocol.parse_request(message, self.config.max_message_bytes)
                        await self._request(client, request)
                    except FeedError as error:
                        _send(client, protocol.error_message(error.code, error.message))
            except ConnectionClosed:
                pass
            finally:
                deadline.cancel()
        finally:
            client.closed = True
            self._forget(client)
            left = self.per_ip.get(ip, 1) - 1
            if left > 0:
                self.per_ip[ip] = left
            else:
                self.per_ip.pop(ip, None)

    def _deadline(self, client: Client) -> None:
        if not client.subscribed_once and not client.closed:
            reason = f"no subscription within {self.config.subscribe_deadline_s:g} s"
            asyncio.get_running_loop().create_task(client.ws.close(1008, reason))

    def _forget(self, client: Client) -> None:
        self.clients.discard(client)
        for key in client.books | client.trades | client.tickers:
            market = self.markets.get(key)
            if market is not None:
                for group in (
                    market.laggards,
                    market.book_subs,
                    market.book_joiners,
                    market.trade_subs,
                    market.ticker_subs,
                    market.ticker_joiners,
                ):
                    group.discard(client)
                self._release(market)

    async def _request(self, client: Client, request: protocol.Request) -> None:
        if request.op == "subscribe":
            await self._subscribe(client, request)
        elif request.op == "unsubscribe":
            self._unsubscribe(client, request)
        else:
            self._resync(client, request)

    def _mine(self, client: Client, channel: str) -> set[str]:
        return {"book": client.books, "trades": client.trades, "ticker": client.tickers}[channel]

    async def _subscribe(self, client: Client, request: protocol.Request) -> None:
        mine = self._mine(client, request.channel)
        keys = [str(v) for v in request.variant_ids]
        already = [k for k in keys if k in mine]
        if already:
            raise FeedError(
                protocol.ALREADY_SUBSCRIBED,
                f"already subscribed to {request.channel} of {', '.join(already)}",
            )
        limit = self.config.max_subscriptions
        if client.subscriptions() + len(keys) > limit:
            raise FeedError(
                protocol.TOO_MANY_SUBSCRIPTIONS,
                f"a connection may hold {limit} subscriptions (a ticker counts one per variant); "
                f"this one holds {client.subscriptions()}",
            )
        markets = await self._ready_markets(request.variant_ids)
        if client.closed:
            for market in markets:
                self._release(market)
            return
        _send(client, protocol.subscribed_message(request))
        client.subscribed_once = True
        for market in markets:
            mine.add(market.key)
            if request.channel == "trades":
                market.trade_subs.add(client)
            elif not client.lagging:
                if request.channel == "book":
                    market.book_joiners.add(client)
                else:
                    market.ticker_joiners.add(client)
                self._mark(market)

    async def _ready_markets(self, variant_ids: Iterable[int]) -> list[Market]:
        """The markets of `variant_ids`, each loaded once (FeedError if a book does not
        exist). The caller adds its subscriber at once (no await between); a market nobody
        took is let go."""
        markets = [self._market(v) for v in variant_ids]
        for market in markets:
            market.holds += 1
        ok = False
        try:
            try:
                async with asyncio.timeout(LOAD_TIMEOUT_S):
                    for market in markets:
                        await market.loaded.wait()
            except TimeoutError:
                raise FeedError(
                    protocol.UNAVAILABLE, "market data is unavailable just now; try again"
                ) from None
            missing = [m.key for m in markets if m.state == "missing"]
            if missing:
                raise FeedError(
                    protocol.UNKNOWN_VARIANT,
                    f"no order book for variant {', '.join(missing)}",
                )
            ok = True
            return markets
        finally:
            for market in markets:
                market.holds -= 1
                if not ok:
                    self._release(market)

    def _unsubscribe(self, client: Client, request: protocol.Request) -> None:
        mine = self._mine(client, request.channel)
        keys = [str(v) for v in request.variant_ids]
        absent = [k for k in keys if k not in mine]
        if absent:
            raise FeedError(
                protocol.NOT_SUBSCRIBED,
                f"not subscribed to {request.channel} of {', '.join(absent)}",
            )
        for key in keys:
            mine.discard(key)
            market = self.markets.get(key)
            if market is None:
                continue
            if key not in client.books and key not in client.tickers:
                market.laggards.discard(client)
            if request.channel == "book":
                market.book_subs.discard(client)
                market.book_joiners.discard(client)
            elif request.channel == "trades":
                market.trade_subs.discard(client)
            else:
                market.ticker_subs.discard(client)
                market.ticker_joiners.discard(client)
            self._release(market)
        _send(client, protocol.unsubscribed_message(request))

    def _resync(self, client: Client, request: protocol.Request) -> None:
        key = str(request.variant_ids[0])
        market = self.markets.get(key)
        if key not in client.books or market is None:
            raise FeedError(protocol.NOT_SUBSCRIBED, f"not subscribed to book of {key}")
        if client.lagging:
            return  # it gets a snapshot once it drained
        market.book_subs.discard(client)
        market.book_joiners.add(client)
        self._mark(market)


def _as_map(raw: Any) -> dict[Any, Any]:
    """HGETALL's reply inside MULTI/EXEC may come back as a flat list of fields and values."""
    if isinstance(raw, list):
        return dict(zip(raw[::2], raw[1::2], strict=True))
    return dict(raw)


def _levels(raw: dict[Any, Any]) -> dict[int, int]:
    out = {}
    for k, v in raw.items():
        key = _s(k)
        if ":" not in key:
            quantity = int(_s(v))
            if quantity > 0:
                out[int(key)] = quantity
    return out


def _writable(client: Client) -> bool:
    """Whether a message may be written to the client; one whose socket holds more than
    `max_buffer` unsent bytes is closed instead (1008) and written nothing more."""
    if client.closed:
        return False
    transport = client.ws.transport
    if transport is None or transport.get_write_buffer_size() <= client.max_buffer:
        return True
    client.closed = True
    log.info("market feed: closing a client of %s that reads nothing", client.ip)
    _CLOSING.add(task := asyncio.ensure_future(client.ws.close(1008, "too slow: not reading")))
    task.add_done_callback(_CLOSING.discard)
    return False


_CLOSING: set[asyncio.Future[None]] = set()
"""Closes under way (a reference each, so none is collected before it ran)."""


def _open(clients: set[Client]) -> list[ServerConnection]:
    return [c.ws for c in clients if _writable(c)]


def _send(client: Client, text: str) -> None:
    """Write one message to one client now (no waiting on its socket; order kept with the
    broadcasts)."""
    if _writable(client):
        broadcast([client.ws], text)


async def serve(
    config: FeedConfig,
    *,
    stop: asyncio.Event,
    started: Callable[[int], None] | None = None,
    feed_ready: Callable[[Feed], None] | None = None,
) -> None:
    """Serve the feed until `stop` is set, then close every connection (1001, going away).
    `started(port)` once it listens (the port it was given, or the one the system chose for
    port 0)."""
    feed = Feed(config)
    feed.start()
    if feed_ready is not None:
        feed_ready(feed)
    try:
        async with serve_websockets(feed, config) as server:
            port = int(next(iter(server.sockets)).getsockname()[1])
            if started is not None:
                started(port)
            await stop.wait()
    finally:
        await feed.stop()


def serve_websockets(feed: Feed, config: FeedConfig) -> Any:
    return websockets_serve(
        feed.handle,
        config.host,
        config.port,
        process_request=feed.process_request,
        compression=None,  # one serialisation for all: no per-connection deflate
        max_size=config.hard_max_bytes,
        max_queue=16,
        ping_interval=20,
        ping_timeout=20,
        close_timeout=2,
    )


def main() -> int:
    """`python -m sneakers_app market-feed`: serve until SIGTERM or SIGINT."""
    from sneakers_app import logs

    logs.configure()
    # websockets says every connection opened and closed at INFO: not for the log
    logging.getLogger("websockets").setLevel(logging.WARNING)
    config = FeedConfig.from_settings(get_settings())
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is pinned
        runner = asyncio.run

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def started(port: int) -> None:
            url = f"ws://{config.host}:{port}{protocol.STREAM_PATH}"
            print(f"Market-data feed running at {url}", flush=True)

        await serve(config, stop=stop, started=started)

    runner(run())
    return 0
