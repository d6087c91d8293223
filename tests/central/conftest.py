"""Central's test fixtures: the same tests run on SQLite and, when reachable, on PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from central_helpers import PASSWORD, Api
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kakou.broker import MosquittoBroker
from kakou.central import auth
from kakou.central.auth import Role
from kakou.central.bridge import CentralBridge
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.service import Central
from kakou.sync.mqtt import BrokerConfig

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
USERS = {
    "admin": Role.ADMIN,
    "alice": Role.CENTRAL_OFFICER,
    "bob": Role.CENTRAL_OFFICER,
    "rita": Role.REVIEWER,
    "lena": Role.LANE_OFFICER,
    "fred": Role.FIELD_STAFF,
}


def _pg_reachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            pass
        psycopg.connect(f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user=postgres", connect_timeout=2).close()
    except Exception as exc:  # any failure means: not available here
        return f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}/{PG_DB}: {str(exc).splitlines()[0]}"
    return None


_PG_SKIP = _pg_reachable()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Argon2 at production cost is deliberately slow; the tests need the behaviour, not the cost.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["sqlite", "postgresql"])
def central(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Central]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
        create_schema(engine)
        yield Central(make_sessionmaker(engine))
        engine.dispose()
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    # A schema per test: tests (and other helpers' runs) share the database without interfering.
    schema = f"t_{secrets.token_hex(6)}"
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    engine = make_engine(f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}")
    create_schema(engine)
    try:
        yield Central(make_sessionmaker(engine))
    finally:
        engine.dispose()
        with psycopg.connect(f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user=postgres", autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def users(central: Central) -> dict[str, Role]:
    for name, role in USERS.items():
        auth.add_user(central, "test-setup", name, role, PASSWORD)
    return USERS


@pytest.fixture
def api(central: Central, users: dict[str, Role]) -> Api:
    return Api(central)


@pytest.fixture
async def bridge(central: Central, mosquitto: MosquittoBroker) -> AsyncIterator[CentralBridge]:
    """Central's real bridge on the test's Mosquitto, connected; `bridge.task` is its running task."""
    b = CentralBridge(central, BrokerConfig(port=mosquitto.port), Ed25519PrivateKey.generate())
    task = asyncio.create_task(b.run())
    await asyncio.wait_for(b.connected.wait(), 10)
    b.task = task  # type: ignore[attr-defined]
    yield b
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
