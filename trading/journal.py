"""Reading a book's journal: the hand-off from the engine to the database.

Each book script appends one stream entry per command to `{book:<v>}:journal` with the fields
`cmd`, `seq`, `at` and `ev` (the command's events as JSON), in the same atomic step as the book
change. A consumer reads entries with a consumer group, handles them (e.g. writes trades and order
rows in one DB transaction, idempotent by trade id / order id + sequence), and only then acks.
Delivery is at least once: an entry whose handler crashed stays pending and is delivered again,
to this consumer on its next `read(pending=True)` or to another one through `claim_stale`.

    consumer = JournalConsumer(redis_client, group="db", consumer="worker-1")
    while not stopping:
        consumer.process(variant_ids, handle_entry, block_ms=1000)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import ResponseError

from trading.events import Event, Trade
from trading.keys import book_keys, variant_of_key
from trading.outcomes import parse_events


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    entry_id: str
    """The stream entry id ('<ms>-<n>'): what `ack` takes."""
    variant_id: str
    command: str
    """place | cancel | modify | expire."""
    sequence: int
    """The book's sequence after the command: strictly increasing within a book."""
    at: int
    events: tuple[Event, ...]
    malformed: str = ""
    """Why the entry's fields could not be read (then `events` is empty): a poison entry."""

    @property
    def trades(self) -> tuple[Trade, ...]:
        return tuple(e for e in self.events if isinstance(e, Trade))


def _entry(stream: str, entry_id: Any, fields: Any) -> JournalEntry:
    f = {_s(k): _s(v) for k, v in dict(fields).items()}
    variant_id = variant_of_key(stream)
    try:
        at = int(f["at"])
        return JournalEntry(
            entry_id=_s(entry_id),
            variant_id=variant_id,
            command=f["cmd"],
            sequence=int(f["seq"]),
            at=at,
            events=parse_events(f["ev"], variant_id=variant_id, at=at),
        )
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        # not something the engine wrote: handed on as a poison entry (never stops a read)
        return JournalEntry(
            entry_id=_s(entry_id),
            variant_id=variant_id,
            command=f.get("cmd", ""),
            sequence=0,
            at=0,
            events=(),
            malformed=f"unreadable journal entry: {exc!r}",
        )


def read_journal(
    client: Any, variant_id: str, *, after: str = "-", count: int | None = None
) -> list[JournalEntry]:
    """Entries in order without a group (audits, tests, replays). `after` is exclusive unless
    it is '-'."""
    stream = book_keys(variant_id).journal
    start = after if after == "-" else f"({after}"
    return [_entry(stream, i, f) for i, f in client.xrange(stream, min=start, count=count)]


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


def _streams_reply(reply: Any) -> list[tuple[str, list[tuple[Any, Any]]]]:
    """XREADGROUP's reply (RESP2: [[stream, [(id, fields), ...]], ...]) as pairs; entries
    deleted from the stream while pending come back without fields and are skipped."""
    if not reply:
        return []
    return [(_s(stream), [(i, f) for i, f in entries if f]) for stream, entries in reply]


class JournalConsumer:
    """One consumer in a consumer group over the journals of many books."""

    def __init__(self, client: Any, *, group: str, consumer: str) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self._ready: set[str] = set()
        self._cluster = isinstance(client, RedisCluster)

    def forget_groups(self) -> None:
        """Check every group again before the next read (Redis may have lost them)."""
        self._ready.clear()

    def ensure_group(self, variant_id: str) -> None:
        """Create the group at the start of the book's journal (and the stream if missing)."""
        stream = book_keys(variant_id).journal
        if stream in self._ready:
            return
        try:
            self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready.add(stream)

    def read(
        self,
        variant_ids: Sequence[str],
        *,
        count: int = 100,
        block_ms: int | None = None,
        pending: bool = False,
    ) -> list[JournalEntry]:
        """Entries not yet delivered to the group (or, with `pending=True`, the ones delivered to
        this consumer and not acked yet: read those first after a restart). At most `count` per
        book. On a single Redis this is one XREADGROUP; on a cluster one per book, pipelined,
        and `block_ms` becomes a pause when nothing arrived."""
        for v in variant_ids:
            self.ensure_group(v)
        start = "0" if pending else ">"
        streams = [book_keys(v).journal for v in variant_ids]
        if not streams:
            return []
        if not self._cluster:
            reply = self.client.xreadgroup(
                self.group,
                self.consumer,
                dict.fromkeys(streams, start),
                count=count,
                block=None if pending else block_ms,
            )
            parsed = _streams_reply(reply)
        else:
            pipe = self.client.pipeline(transaction=False)
            for s in streams:
                pipe.xreadgroup(self.group, self.consumer, {s: start}, count=count)
            parsed = [p for r in pipe.execute() for p in _streams_reply(r)]
            if not any(entries for _, entries in parsed) and block_ms and not pending:
                time.sleep(block_ms / 1000)
        return [_entry(stream, i, f) for stream, entries in parsed for i, f in entries]

    def ack(self, entries: Iterable[JournalEntry]) -> int:
        """Acknowledge handled entries (call after the handler's effects are durable)."""
        by_stream: dict[str, list[str]] = {}
        for e in entries:
            by_stream.setdefault(book_keys(e.variant_id).journal, []).append(e.entry_id)
        return sum(int(self.client.xack(s, self.group, *ids)) for s, ids in by_stream.items())

    def claim_stale(
        self, variant_ids: Sequence[str], *, min_idle_ms: int, count: int = 100
    ) -> list[JournalEntry]:
        """Take over entries another consumer read but has not acked for `min_idle_ms`
        (it probably died). They are then pending on this consumer: handle and ack them."""
        out: list[JournalEntry] = []
        for v in variant_ids:
            self.ensure_group(v)
            stream = book_keys(v).journal
            cursor = "0-0"
            while True:
                reply = self.client.xautoclaim(
                    stream, self.group, self.consumer, min_idle_ms, start_id=cursor, count=count
                )
                cursor, claimed = _s(reply[0]), reply[1]
                out.extend(_entry(stream, i, f) for i, f in claimed if f is not None)
                if cursor == "0-0" or not claimed:
                    break
        return out

    def pending_count(self, variant_id: str) -> int:
        self.ensure_group(variant_id)
        info = self.client.xpending(book_keys(variant_id).journal, self.group)
        return int(info["pending"])

    def process(
        self,
        variant_ids: Sequence[str],
        handler: Callable[[JournalEntry], None],
        *,
        count: int = 100,
        block_ms: int | None = None,
    ) -> int:
        """Handle this consumer's pending entries, then new ones, acking each after its handler
        returned. A handler exception stops the pass; the entry stays pending (at least once)."""
        handled = 0
        for pending in (True, False):
            entries = self.read(
                variant_ids, count=count, block_ms=None if pending else block_ms, pending=pending
            )
            handled += len(self.handle(entries, handler))
        return handled

    def handle(
        self, entries: list[JournalEntry], handler: Callable[[JournalEntry], None]
    ) -> list[JournalEntry]:
        """Hand each entry to `handler` and ack it once the handler returned; returns them. A
        handler exception stops there: that entry and the rest stay pending (at least once)."""
        for entry in entries:
            handler(entry)
            self.ack([entry])
        return entries

    def trim_acknowledged(self, variant_id: str) -> int:
        """Drop journal entries every group has received and acked; returns how many went."""
        stream = book_keys(variant_id).journal
        groups = self.client.xinfo_groups(stream)
        if not groups:
            return 0
        floor: tuple[int, int] | None = None
        for g in groups:
            info = {_s(k): v for k, v in g.items()}
            name = _s(info["name"])
            last = _id_key(_s(info["last-delivered-id"]))
            bound = (last[0], last[1] + 1)
            if int(info["pending"]):
                first = self.client.xpending(stream, name)["min"]
                bound = min(bound, _id_key(_s(first)))
            floor = bound if floor is None else min(floor, bound)
        assert floor is not None
        return int(self.client.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=False))


DEAD_LETTERS = "journal:dead-letters"
"""The stream of journal entries a consumer gave up on (parked), for staff."""


@dataclass(frozen=True, kw_only=True)
class ParkedEntry:
    parked_id: str
    """Its id in the dead-letter stream."""
    entry: JournalEntry
    error: str
    attempts: int
    consumer: str
    parked_at: int
    """Epoch ms."""


class DeadLetters:
    """Journal entries that failed every attempt: parked here (and acknowledged in their book's
    journal) so the entries after them go on; staff see them, re-apply them or dismiss them."""

    def __init__(self, client: Any, *, key: str = DEAD_LETTERS, maxlen: int = 10_000) -> None:
        self.client = client
        self.key = key
        self.maxlen = maxlen

    def park(
        self, entry: JournalEntry, *, error: str, attempts: int, consumer: str, group: str
    ) -> str:
        """Copy the entry (its raw fields, read back from its journal) here, then ack it."""
        stream = book_keys(entry.variant_id).journal
        raw = self.client.xrange(stream, min=entry.entry_id, max=entry.entry_id)
        fields = {_s(k): _s(v) for k, v in dict(raw[0][1]).items()} if raw else {}
        parked = self.client.xadd(
            self.key,
            {
                "book": entry.variant_id,
                "entry": entry.entry_id,
                "cmd": fields.get("cmd", entry.command),
                "seq": fields.get("seq", str(entry.sequence)),
                "at": fields.get("at", str(entry.at)),
                "ev": fields.get("ev", "[]"),
                "error": error[:2000],
                "attempts": str(attempts),
                "consumer": consumer,
                "parked_at": str(int(time.time() * 1000)),
            },
            maxlen=self.maxlen,
            approximate=True,
        )
        self.client.xack(stream, group, entry.entry_id)
        return _s(parked)

    @staticmethod
    def _parked(pid: Any, raw: Any) -> ParkedEntry:
        f = {_s(k): _s(v) for k, v in dict(raw).items()}
        parsed = _entry(book_keys(f["book"]).journal, f["entry"], f)
        return ParkedEntry(
            parked_id=_s(pid),
            entry=parsed,
            error=f["error"],
            attempts=int(f["attempts"]),
            consumer=f["consumer"],
            parked_at=int(f["parked_at"]),
        )

    def list(self, count: int = 100) -> list[ParkedEntry]:
        """The newest parked entries first."""
        return [self._parked(i, raw) for i, raw in self.client.xrevrange(self.key, count=count)]

    def get(self, parked_id: str) -> ParkedEntry | None:
        found = self.client.xrange(self.key, min=parked_id, max=parked_id)
        return self._parked(*found[0]) if found else None

    def remove(self, parked_id: str) -> bool:
        return int(self.client.xdel(self.key, parked_id)) == 1

    def count(self) -> int:
        return int(self.client.xlen(self.key))
