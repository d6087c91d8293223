"""Helpers shared by central's tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kakou.central.api import create_app
from kakou.central.service import Central

PASSWORD = "correct horse battery"


class Api:
    """A TestClient per user, logged in through the real login endpoint."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.app = create_app(central)
        self._clients: dict[str, TestClient] = {}

    def anonymous(self) -> TestClient:
        return TestClient(self.app)

    def __call__(self, username: str) -> TestClient:
        if username not in self._clients:
            client = TestClient(self.app)
            r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            self._clients[username] = client
        return self._clients[username]
