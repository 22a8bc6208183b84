"""Rate limits (services/limits.py) against a real redis-server, and the emails one user's
actions cause to someone else (outbid, price drop) limited on the journal consumer's own path.

The handlers' limits (log in, sign up, orders, watching) are exercised through the running
backend in tests/e2e/test_backend_faults_limits.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from sneakers_app.models import Notification, ProductVariant, utcnow
from sneakers_app.services import limits, market, notifications, watchlist
from sneakers_app.settings import Settings, get_settings
from tests.integration.test_saga import Market, mk, smtp, variant  # noqa: F401 (fixtures)
from tests.support.servers import RedisServer, free_port


def _settings(redis_url: str, **limits_: str) -> Settings:
    return Settings(ENVIRONMENT="test", REDIS_URL=redis_url, **limits_)  # type: ignore[arg-type]


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.close()


def test_a_limit_refuses_the_attempt_after_the_last_allowed_and_says_how_long(
    redis_url: str,
) -> None:
    s = _settings(redis_url, RATE_LIMIT_ORDERS_USER="3/minute", RATE_LIMIT_ORDERS_IP="")
    for _ in range(3):
        limits.check(limits.ORDERS, user=7, ip="10.0.0.1", settings=s)
    with pytest.raises(limits.RateLimited) as refused:
        limits.check(limits.ORDERS, user=7, ip="10.0.0.1", settings=s)
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.message == (
        f"Too many attempts; try again in {refused.value.retry_after} "
        f"second{'s' if refused.value.retry_after != 1 else ''}."
    )
    # Another user is counted on their own; the IP limit is off.
    limits.check(limits.ORDERS, user=8, ip="10.0.0.1", settings=s)


def test_the_ip_limit_holds_across_users_and_actions_are_counted_apart(redis_url: str) -> None:
    s = _settings(
        redis_url,
        RATE_LIMIT_LOGIN_IP="2/hour",
        RATE_LIMIT_LOGIN_USER="",
        RATE_LIMIT_WATCH_USER="1/hour",
    )
    limits.check(limits.LOG_IN, user="a@example.com", ip="10.0.0.2", settings=s)
    limits.check(limits.LOG_IN, user="b@example.com", ip="10.0.0.2", settings=s)
    with pytest.raises(limits.RateLimited) as refused:
        limits.check(limits.LOG_IN, user="c@example.com", ip="10.0.0.2", settings=s)
    assert refused.value.retry_after > 60  # an hour's window
    limits.check(limits.LOG_IN, user="c@example.com", ip="10.0.0.3", settings=s)
    limits.check(limits.WATCH, user=1, ip="10.0.0.2", settings=s)  # another action
    with pytest.raises(limits.RateLimited):
        limits.check(limits.WATCH, user=1, ip="10.0.0.9", settings=s)


def test_the_email_typed_at_log_in_is_one_key_whatever_its_case(redis_url: str) -> None:
    s = _settings(redis_url, RATE_LIMIT_LOGIN_USER="1/minute", RATE_LIMIT_LOGIN_IP="")
    limits.check(limits.LOG_IN, user="Someone@Example.com", ip="10.0.0.4", settings=s)
    with pytest.raises(limits.RateLimited):
        limits.check(limits.LOG_IN, user=" someone@example.com", ip="10.0.0.5", settings=s)


def test_a_bad_limit_setting_is_refused_at_start_with_its_name(redis_url: str) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_SIGNUP_IP='lots' is not a limit"):
        _settings(redis_url, RATE_LIMIT_SIGNUP_IP="lots")
    _settings(redis_url, RATE_LIMIT_SIGNUP_IP="", RATE_LIMIT_LOGIN_IP="100 per hour")


def test_redis_away_does_not_stop_anyone() -> None:
    s = _settings(f"redis://127.0.0.1:{free_port()}/0", RATE_LIMIT_LOGIN_IP="1/hour")
    for _ in range(3):
        limits.check(limits.LOG_IN, ip="10.0.0.7", settings=s)
    assert limits.allow_email(kind="outbid", recipient_id=1, caused_by=2, settings=s)


# --- emails caused to someone else, on the journal consumer's path -----------------------------


@pytest.fixture
def email_limits(monkeypatch: pytest.MonkeyPatch, mk: Market) -> Iterator[None]:  # noqa: F811
    url = mk.redis.connection_pool.connection_kwargs
    monkeypatch.setenv("REDIS_URL", f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}")
    monkeypatch.setenv("RATE_LIMIT_EMAILS_RECEIVED", "2/hour")
    monkeypatch.setenv("RATE_LIMIT_EMAILS_CAUSED", "3/hour")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _emails_due_to(mk: Market, user_id: int, kind: str) -> tuple[int, int]:  # noqa: F811
    """(notices recorded, emails queued) of `kind` for `user_id`."""
    with mk.session() as s:
        ids = s.exec(
            select(Notification.id).where(
                Notification.user_id == user_id, Notification.kind == kind
            )
        ).all()
    return len(ids), len(set(ids) & set(mk.emails))


@pytest.mark.usefixtures("email_limits")
def test_outbid_emails_to_one_bidder_stop_at_the_limit_and_the_inbox_still_hears(
    mk: Market,  # noqa: F811
    variant: int,  # noqa: F811
) -> None:
    victim, pusher = mk.buyer(), mk.buyer()
    mk.place(victim, "bid", variant, 20_000)
    mk.drain(variant)
    for price in (20_100, 20_200, 20_300, 20_400):
        placed = mk.place(pusher, "bid", variant, price)
        mk.drain(variant)  # the victim is outbid
        with mk.session() as s:
            market.cancel(
                session=s, engine=mk.engine, user_id=pusher, side="bid", row_id=placed.row_id
            )
        mk.drain(variant)
    notices, emails = _emails_due_to(mk, victim, "outbid")
    assert (notices, emails) == (4, 2)  # RATE_LIMIT_EMAILS_RECEIVED=2/hour per kind
    mk.drain(variant)  # a replayed journal changes nothing
    assert _emails_due_to(mk, victim, "outbid") == (4, 2)
    # The sweep that re-finds emails lost with the broker does not send the refused ones.
    later = utcnow() + timedelta(minutes=5)
    with mk.session() as s:
        pending = notifications.emails_pending(
            session=s, created_after=later - timedelta(days=3), created_before=later
        )
        outbid = s.exec(
            select(Notification.id).where(
                Notification.user_id == victim, Notification.kind == "outbid"
            )
        ).all()
    refused = set(outbid) - set(mk.emails)
    assert len(refused) == 2 and not refused & set(pending)


@pytest.mark.usefixtures("email_limits")
def test_price_drop_emails_one_seller_causes_stop_at_the_limit(
    mk: Market,  # noqa: F811
    variant: int,  # noqa: F811
) -> None:
    watchers = [mk.buyer() for _ in range(5)]
    with mk.session() as s:
        product_id = s.exec(
            select(ProductVariant.product_id).where(col(ProductVariant.id) == variant)
        ).one()
        for user_id in watchers:
            watchlist.watch(
                session=s,
                user_id=user_id,
                product_id=product_id,
                variant_id=variant,
                target_price_cents=30_000,
            )
        s.commit()
    seller = mk.seller()
    mk.place(seller, "ask", variant, 29_000)
    mk.drain(variant)
    counts = [_emails_due_to(mk, w, "price_drop") for w in watchers]
    assert [n for n, _ in counts] == [1] * 5  # every watcher's inbox hears
    assert sum(e for _, e in counts) == 3  # RATE_LIMIT_EMAILS_CAUSED=3/hour for the seller
