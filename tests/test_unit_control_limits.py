"""The daemon's control connections are bounded before anyone shows the token: a cap on
connections served at once, a cap on connections still owing their token line, and a
deadline and a size for that line (:mod:`parley.app.daemon.controlproto`). Real loopback
sockets against the daemon's connection handler; the caps are lowered so that a test
needs a handful of sockets, not 512."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from parley.app.daemon.config import DaemonConfig
from parley.app.daemon.controlproto import (
    AUTH_LINE_LIMIT,
    AUTH_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_PENDING,
    READ_BUFFER,
)
from parley.app.daemon.server import Daemon

CONFIG = DaemonConfig(key="limits", name=None, project="/nonexistent", agent_file="x", runtime=[])
#: generous: how long a client waits for an answer the daemon gives at once
ANSWER_WAIT = 60.0

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class Served:
    """A daemon (no session) serving control connections on ``port``; the clients
    connected so far."""

    daemon: Daemon
    port: int
    clients: list[Conn] = field(default_factory=list)

    async def connect(self) -> Conn:
        conn = await asyncio.open_connection("127.0.0.1", self.port)
        self.clients.append(conn)
        return conn


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    """No deadline for the token line unless a test sets one."""
    monkeypatch.setenv("PARLEY_HOME", str(tmp_path))
    d = Daemon(CONFIG)
    d.auth_timeout = 3600.0
    server = await asyncio.start_server(d._handle, "127.0.0.1", 0, limit=READ_BUFFER)
    s = Served(d, server.sockets[0].getsockname()[1])
    yield s
    for _, w in s.clients:
        w.close()
    server.close()
    await server.wait_closed()
    await _until(lambda: not d._conns)


async def _until(cond: Callable[[], object]) -> None:
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), ANSWER_WAIT)


def _request(d: Daemon) -> bytes:
    """A request with the right token: an op that does not exist, answered with a
    ``request`` error once the token was accepted (this daemon has no session)."""
    return json.dumps({"token": d.token, "op": "no-such-op"}).encode() + b"\n"


async def _answer(conn: Conn, send: bytes = b"") -> bytes:
    """Send ``send``, then everything the daemon says until it closes the connection
    (``b""`` for a connection closed unanswered)."""
    reader, writer = conn
    try:
        if send:
            writer.write(send)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), ANSWER_WAIT)
    except ConnectionError:
        return b""


def _kind(answer: bytes) -> str:
    (line,) = answer.splitlines()
    return str(json.loads(line)["kind"])


def test_the_real_limits_are_those_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARLEY_HOME", str(tmp_path))
    d = Daemon(CONFIG)
    assert (d.auth_timeout, d.auth_line_limit) == (AUTH_TIMEOUT, AUTH_LINE_LIMIT) == (2.0, 4096)
    assert (d.max_connections, d.max_pending) == (MAX_CONNECTIONS, MAX_PENDING) == (512, 128)


async def test_connections_over_the_cap_are_closed_unanswered(served: Served) -> None:
    d = served.daemon
    d.max_connections = 3
    held = [await served.connect() for _ in range(3)]
    await _until(lambda: len(d._conns) == 3)
    # a fourth, even with the right token, is closed at once
    assert await _answer(await served.connect(), _request(d)) == b""
    # the three held ones are served
    for conn in held:
        assert _kind(await _answer(conn, _request(d))) == "request"
    await _until(lambda: not d._conns)
    # with the slots free again, a new connection is served
    assert _kind(await _answer(await served.connect(), _request(d))) == "request"


async def test_past_the_pending_cap_the_oldest_unauthenticated_connection_goes(
    served: Served,
) -> None:
    d = served.daemon
    d.max_pending = 2
    oldest = await served.connect()
    await _until(lambda: len(d._pending) == 1)
    middle = await served.connect()
    await _until(lambda: len(d._pending) == 2)
    newest = await served.connect()
    assert _kind(await _answer(newest, _request(d))) == "request"
    # the newest one's arrival closed the oldest, which then is never served
    assert await _answer(oldest, _request(d)) == b""
    assert _kind(await _answer(middle, _request(d))) == "request"


UNAUTHORIZED = {"event": "error", "error": "unauthorized", "kind": "auth"}


async def test_a_connection_that_does_not_show_its_token_in_time_is_closed(served: Served) -> None:
    d = served.daemon
    d.auth_timeout = 0.2
    silent, partial = await served.connect(), await served.connect()
    partial[1].write(b'{"token": "')  # a token line that never ends
    for conn in (silent, partial):
        assert json.loads(await _answer(conn)) == UNAUTHORIZED
    await _until(lambda: not d._conns)


async def test_a_token_line_over_the_size_limit_is_refused(served: Served) -> None:
    d = served.daemon

    def line(size: int) -> bytes:
        """A token line of exactly ``size`` bytes (newline included): the right token
        and a request, padded."""
        head = json.dumps({"token": d.token, "op": "no-such-op", "pad": ""})
        pad = size - len(head) - 1
        return head[:-2].encode() + b"x" * pad + b'"}\n'

    assert len(line(AUTH_LINE_LIMIT)) == AUTH_LINE_LIMIT
    assert _kind(await _answer(await served.connect(), line(AUTH_LINE_LIMIT))) == "request"
    over = await _answer(await served.connect(), line(AUTH_LINE_LIMIT + 1))
    assert json.loads(over) == UNAUTHORIZED
    # no newline at all: refused once the reader's buffer is full, well before the
    # (here absent) deadline; the daemon may reset the connection with bytes unread
    flood = await _answer(await served.connect(), b"x" * (4 * READ_BUFFER))
    assert flood == b"" or json.loads(flood) == UNAUTHORIZED
    await _until(lambda: not d._conns)
