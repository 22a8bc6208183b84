from __future__ import annotations

from sneakers_app.services.catalog import MAX_TOKENS, search_tokens


def test_words_survive_and_syntax_does_not() -> None:
    assert search_tokens('"Panda" OR dunk*') == ["panda", "or", "dunk"]
    assert search_tokens("'; drop table products; --") == ["drop", "table", "products"]
    assert search_tokens("DZ5485-612") == ["dz5485", "612"]
    assert search_tokens("") == []
    assert search_tokens("***") == []


def test_long_input_is_bounded() -> None:
    tokens = search_tokens("word " * 5000)
    assert len(tokens) == MAX_TOKENS
    assert all(len(t) <= 40 for t in search_tokens("a" * 5000))
