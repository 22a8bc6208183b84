"""The market-data feed's wire format: the checksum as documented, and requests refused with
a stable code."""

from __future__ import annotations

import zlib

import pytest

from sneakers_app.feed import protocol
from sneakers_app.feed.protocol import FeedError, LocalBook


def test_the_checksum_is_crc32_of_the_documented_text() -> None:
    bids, asks = [(20000, 2), (19500, 1)], [(21000, 3)]
    assert protocol.checksum_text(bids, asks) == "20000:2|19500:1;21000:3"
    assert protocol.checksum(bids, asks) == zlib.crc32(b"20000:2|19500:1;21000:3")
    assert protocol.checksum([], []) == zlib.crc32(b";")
    # a level on the other side is another book
    assert protocol.checksum([(100, 1)], []) != protocol.checksum([], [(100, 1)])


def test_the_checksum_covers_the_top_ten_levels_of_each_side() -> None:
    book = LocalBook(
        bids={10_000 - i * 100: 1 for i in range(12)},
        asks={20_000 + i * 100: 2 for i in range(12)},
    )
    top = book.checksum()
    book.apply([("bid", 10_000 - 11 * 100, 5), ("ask", 20_000 + 10 * 100, 0)])  # 12th and 11th
    assert book.checksum() == top
    book.apply([("bid", 10_000 - 9 * 100, 0)])  # the 10th bid goes: the 11th comes in
    assert book.checksum() != top
    assert book.side("bid", 2) == [(10_000, 1), (9_900, 1)]
    assert book.side("ask")[-1] == (21_100, 2)


def test_a_valid_request_is_parsed() -> None:
    request = protocol.parse_request('{"op":"subscribe","channel":"book","variant_id":7}', 4096)
    assert request == protocol.Request(op="subscribe", channel="book", variant_ids=(7,))
    ticker = protocol.parse_request(
        '{"op":"subscribe","channel":"ticker","variant_ids":[3,1,3]}', 4096
    )
    assert ticker.variant_ids == (3, 1)
    resync = protocol.parse_request('{"op":"resync","variant_id":7}', 4096)
    assert (resync.channel, resync.variant_ids) == ("book", (7,))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("nope", "bad_json"),
        (b"{}", "bad_message"),
        ('"subscribe"', "bad_message"),
        ('{"channel":"book","variant_id":1}', "unknown_op"),
        ('{"op":"subscribe","variant_id":1}', "unknown_channel"),
        ('{"op":"resync","channel":"trades","variant_id":1}', "unknown_channel"),
        ('{"op":"subscribe","channel":"book"}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"book","variant_id":1.5}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"book","variant_id":0}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"book","variant_id":9007199254740992}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"ticker","variant_ids":7}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"ticker","variant_ids":[1,"2"]}', "bad_variant_id"),
        ('{"op":"subscribe","channel":"book","x":"' + "é" * 200 + '"}', "message_too_large"),
    ],
)  # fmt: skip
def test_a_bad_request_is_refused_with_its_code(data: str | bytes, code: str) -> None:
    with pytest.raises(FeedError) as refused:
        protocol.parse_request(data, 256)
    assert refused.value.code == code and refused.value.message
    assert code in protocol.ERROR_CODES
