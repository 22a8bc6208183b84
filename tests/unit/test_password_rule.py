"""The password rule: at least 10 characters and hard to guess (zxcvbn score 3 or more)."""

from __future__ import annotations

import pytest

from sneakers_app import seed
from sneakers_app.services import accounts


@pytest.mark.parametrize("password", ["", "short", "nine char"])
def test_short_passwords_are_refused_with_the_length_and_a_hint(password: str) -> None:
    problem = accounts.password_problem(password)
    assert problem.startswith("Use a password of at least 10 characters.")
    assert "unrelated words" in problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password123", "very common password"),
        ("1234567890", "common password"),
        ("qwertyuiop", "common password"),
        ("Password1234!", "similar to a commonly used password"),
        ("aaaaaaaaaaaa", 'repeats like "aaa"'),
        ("sneakers2024", ""),
    ],
)
def test_common_passwords_are_refused_saying_why(password: str, why: str) -> None:
    problem = accounts.password_problem(password)
    assert problem.startswith("This password is too easy to guess")
    assert why in problem
    assert problem.endswith("Try a few unrelated words together, or let your browser suggest one.")
    with pytest.raises(accounts.AccountError) as refused:
        accounts.check_password_rules(password)
    assert refused.value.field == "password"


def test_a_password_built_on_the_persons_own_name_or_email_is_refused() -> None:
    assert accounts.password_problem("adalovelace1") == ""  # nothing known about the person
    about = ("ada.lovelace@example.com", "Ada L")
    for password in ("adalovelace1", "ada.lovelace1", "AdaLovelace2024", "lovelace1234"):
        problem = accounts.password_problem(password, about=about)
        assert problem.startswith("This password is too easy to guess: it uses your name or email.")


@pytest.mark.parametrize(
    "password",
    ["plum kettle marathon", "correct horse battery", "Xq7#vL9p!rT2", "a long enough password"],
)
def test_long_unrelated_words_pass(password: str) -> None:
    assert accounts.password_problem(password, about=("ada@example.com", "Ada Lovelace")) == ""


def test_only_the_first_72_characters_are_scored_and_256_is_the_limit() -> None:
    assert accounts.password_problem("plum kettle marathon " * 12) == ""  # 252 characters
    assert "at most 256" in accounts.password_problem("plum kettle marathon " * 13)
    assert accounts.password_problem("a" * 80 + "plum kettle marathon").startswith("This password")


def test_the_demo_accounts_passwords_follow_the_rule() -> None:
    """The seed creates them through `sign_up`, which applies the rule."""
    for account in seed.DEMO_ACCOUNTS:
        about = (account.email, account.display_name)
        assert accounts.password_problem(account.password, about=about) == "", account.email
