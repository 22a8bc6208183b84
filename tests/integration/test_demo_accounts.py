"""Demo accounts exist only outside production, and staff passwords never have a default.
Both commands run as an operator runs them: `python -m sneakers_app ...` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pyotp
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sneakers_app import catalog_data, seed
from sneakers_app.models import Product, ProductVariant, Sale, User
from sneakers_app.services import accounts, addresses
from sneakers_app.settings import PROJECT_ROOT
from tests.support.production import PRODUCTION_SETTINGS

MEMBER_PASSWORD = "plum kettle marathon"

PRODUCTION = {
    **PRODUCTION_SETTINGS,
    "ENVIRONMENT": "production",
    "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: seeding needs only the database
}


def cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sneakers_app", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.postgres
def test_production_seed_loads_the_catalog_and_creates_no_account(
    database_url: str, engine: Engine
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL only")
    done = cli("seed", env={**PRODUCTION, "DATABASE_URL": database_url})
    assert done.returncode == 0, done.stdout + done.stderr
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []
        products = session.exec(select(func.count()).select_from(Product)).one()
        assert products == len(catalog_data.CATALOG)
        sizes = sum(len(m.sizes) for m in catalog_data.CATALOG)
        assert session.exec(select(func.count()).select_from(ProductVariant)).one() == sizes
        # No invented sales either: a production price tape starts empty.
        assert session.exec(select(func.count()).select_from(Sale)).one() == 0


def test_demo_accounts_outside_production_and_the_staff_has_a_known_second_factor(
    session: Session,
) -> None:
    ids = seed.seed_accounts(session)
    session.commit()
    staff = session.get(User, ids["staff"])
    assert staff is not None and staff.is_staff
    assert staff.totp_secret == seed.DEMO_STAFF_TOTP_SECRET and staff.totp_enabled_at
    # Seeding again changes nothing.
    assert seed.seed_accounts(session) == ids
    done = cli("demo-totp", env={"ENVIRONMENT": "development"})
    assert done.returncode == 0, done.stderr
    totp = pyotp.TOTP(seed.DEMO_STAFF_TOTP_SECRET)
    assert totp.verify(done.stdout.split()[-1], valid_window=1)


def test_demo_buyer_and_seller_have_a_default_address_seeded_once(session: Session) -> None:
    ids = seed.seed_accounts(session)
    seed.seed_addresses(session, ids)
    seed.seed_addresses(session, ids)  # seeding again adds none
    session.commit()
    for role in ("buyer", "seller"):
        saved = addresses.list_addresses(session=session, user_id=ids[role])
        assert len(saved) == 1 and saved[0].is_default, role
    buyer_home = addresses.list_addresses(session=session, user_id=ids["buyer"])[0]
    assert (buyer_home.city, buyer_home.region, buyer_home.country) == ("New York", "NY", "US")


def test_demo_totp_is_refused_in_production() -> None:
    done = cli(
        "demo-totp", env={**PRODUCTION, "DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x"}
    )
    assert done.returncode == 2
    assert "development" in done.stderr


def test_create_staff_reads_the_password_from_staff_password(
    database_url: str, engine: Engine
) -> None:
    env = {"ENVIRONMENT": "test", "DATABASE_URL": database_url}
    refused = cli("create-staff", "ops@example.com", "--name", "Ops", env=env)
    assert refused.returncode == 2
    assert "STAFF_PASSWORD" in refused.stderr
    with Session(engine) as session:
        assert session.exec(select(User)).all() == []
    short = cli("create-staff", "ops@example.com", env={**env, "STAFF_PASSWORD": "short"})
    assert short.returncode == 2 and "at least 10" in short.stderr
    made = cli(
        "create-staff",
        "ops@example.com",
        "--name",
        "Ops",
        env={**env, "STAFF_PASSWORD": "a staff passphrase 42"},
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with Session(engine) as session:
        result = accounts.log_in(
            session=session, email="ops@example.com", password="a staff passphrase 42"
        )
        assert result.user.is_staff and not result.user.totp_enrolled
    # A password on the command line (shell history, `ps`) is not accepted.
    flag = cli("create-staff", "x@example.com", "--password", MEMBER_PASSWORD, env=env)
    assert flag.returncode != 0


def test_create_staff_promotes_an_existing_member_without_a_password(
    database_url: str, engine: Engine
) -> None:
    with Session(engine) as session:
        accounts.sign_up(
            session=session, email="m@example.com", display_name="Member", password=MEMBER_PASSWORD
        )
        session.commit()
    done = cli(
        "create-staff", "m@example.com", env={"ENVIRONMENT": "test", "DATABASE_URL": database_url}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == "m@example.com")).one()
        assert user.is_staff


def test_reset_second_factor_for_a_lost_authenticator(database_url: str, engine: Engine) -> None:
    with Session(engine) as session:
        staff = accounts.sign_up(
            session=session,
            email="lost@example.com",
            display_name="Lost",
            password=MEMBER_PASSWORD,
            is_staff=True,
        )
        accounts.enable_totp(session=session, user_id=staff.id, secret=pyotp.random_base32())
        login = accounts.log_in(session=session, email="lost@example.com", password=MEMBER_PASSWORD)
        session.commit()
    env = {"ENVIRONMENT": "test", "DATABASE_URL": database_url}
    assert cli("reset-second-factor", "nobody@example.com", env=env).returncode == 2
    done = cli("reset-second-factor", "lost@example.com", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    with Session(engine) as session:
        user = session.get(User, staff.id)
        assert user is not None and user.totp_secret is None and user.totp_enabled_at is None
        assert accounts.user_for_token(session=session, token=login.token) is None
