from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kakou.broker import MosquittoBroker, mosquitto_binary
from kakou.netutil import free_port


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[MosquittoBroker]:
    """A Mosquitto of our own on a free port, started with the project's config."""
    if mosquitto_binary() is None:
        pytest.fail("mosquitto is not installed: run `make test`, which installs it")
    broker = MosquittoBroker(free_port(), tmp_path / "broker")
    await broker.start()
    yield broker
    await broker.stop()
