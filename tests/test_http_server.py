"""Server-sent event streams: the keepalive comment that keeps proxies from dropping a quiet stream."""

from __future__ import annotations

from kakou.http_server import Keepalive


def test_a_keepalive_is_due_only_after_the_stream_was_quiet_that_long() -> None:
    clock = [100.0]
    keepalive = Keepalive(15.0, clock=lambda: clock[0])
    clock[0] = 110.0
    assert not keepalive.due()
    keepalive.sent()  # an event went out at 110: the quiet starts again
    clock[0] = 120.0
    assert not keepalive.due()
    clock[0] = 125.5
    assert keepalive.due()  # 15.5 s quiet
    assert not keepalive.due()  # the keepalive itself counts as sent
    clock[0] = 141.0
    assert keepalive.due()
