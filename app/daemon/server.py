"""The daemon's control server: serves one :class:`parley.app.session.session.Session` to clients.

Imported by :mod:`parley.app.daemon.process` once the agent is already booting (see there for the
process's lifecycle).

This module owns the server's machinery: finishing the session's start and reporting
readiness, the state file, the listening socket and its connections (authentication,
limits, dispatch), the idle timeout and watch mode. What each request does is in
:mod:`parley.app.daemon.ops` (:class:`~parley.app.daemon.ops.ControlOps`, which
:class:`Daemon` extends).

Control channel: loopback TCP on an ephemeral port; each connection sends its token
line ``{"token": ...}`` then one request line ``{"op": ..., ...}`` (or both in one line)
and gets JSON lines back (the limits and checks are in :mod:`parley.app.daemon.controlproto`,
the ops in :mod:`parley.app.daemon.ops`). A connection whose token does not match the one
in the 0600 state file, or that does not send it within 2 s and 4 KiB, gets
``{"event": "error", "error": "unauthorized"}`` and is closed.

Idle timeout (``idle_timeout`` in the config, seconds, 0 = never): with no client
request (``status`` aside), no client following or waiting, and no turn running or
queued for that long, the daemon records why and stops the session.

Errors are ``{"event": "error", "error": message, "kind": "input" | "agent" |
"request" | "auth" | ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from parley.app.agent.agentlog import tail
from parley.app.agent.engine import EngineError
from parley.app.agent.launcher import AgentSpec, LaunchError
from parley.app.daemon.controlproto import (
    AUTH_LINE_LIMIT,
    AUTH_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_PENDING,
    READ_BUFFER,
    RateLimitedLog,
    RequestError,
    parse_line,
    read_line,
    token_ok,
    validate,
)
from parley.app.daemon.ops import ControlOps, send
from parley.app.daemon.ready import report
from parley.app.daemon.seen import SeenItems
from parley.app.daemon.state import STATE_FILE, SessionState, session_dir
from parley.app.protocol import items as it
from parley.app.protocol.latency import format_duration
from parley.app.protocol.limits import CONTROL_LINE_LIMIT
from parley.app.protocol.shapes import DaemonStatus, agent_id
from parley.app.session.session import Session

if TYPE_CHECKING:
    from parley.app.daemon.config import DaemonConfig
    from parley.app.session.reload import Reloader

log = logging.getLogger("parley.daemon")


class Daemon(ControlOps):
    """One session served on the control channel: :meth:`run` finishes its start,
    serves clients until ``stop`` (or a signal, or the idle timeout) and stops it."""

    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        self.key = cfg.key
        self.sdir = session_dir(self.key)
        self.token = secrets.token_urlsafe(32)
        self.session: Session | None = None
        self.state: SessionState | None = None
        #: the items some client was shown (see parley.app.daemon.seen)
        self.seen = SeenItems()
        #: turns a `say` client is waiting on: their items are that client's to show
        self.watched: dict[str, int] = {}
        self.idle_timeout = cfg.idle_timeout
        self.last_activity = time.monotonic()
        self._clients_busy = 0  # connections following or waiting right now
        self.reloader: Reloader | None = None  # in watch mode
        # control connections being served, and those still owing their token line
        self._conns: set[asyncio.Task[Any]] = set()
        self._pending: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._log_limited = RateLimitedLog(log)
        # the control channel's limits (parley.app.daemon.controlproto); tests lower them
        self.max_connections = MAX_CONNECTIONS
        self.max_pending = MAX_PENDING
        self.auth_timeout = AUTH_TIMEOUT
        self.auth_line_limit = AUTH_LINE_LIMIT

    async def run(
        self,
        ready: IO[str],
        session_id: str,
        data_dir: Path,
        spec: AgentSpec,
        agent: tuple[socket.socket, subprocess.Popen[bytes], float],
        stop_requested: list[int] | None = None,
    ) -> int:
        """Finish starting the session whose agent is already booting (``agent`` is its
        listening socket, process and spawn time), serve clients until ``stop``, then
        stop the session. Returns the process exit code. ``stop_requested`` holds the
        signals that arrived before the event loop ran (the daemon then stops at once).
        """
        session = Session(spec, session_id=session_id, data_dir=data_dir, name=self.cfg.name)
        session.header_extra = self.cfg.header.copy()
        self.stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        # e.g. "socket.accept() out of system resource" under a connection flood
        loop.set_exception_handler(self._log_limited.loop_handler)
        for sig in (signal.SIGTERM, signal.SIGINT):  # also while the agent boots
            loop.add_signal_handler(sig, self.stopping.set)
        if stop_requested:
            self.stopping.set()
        try:
            return await self._serve(ready, session, agent)
        finally:
            # whatever happened, the agent (and a spare) does not outlive its daemon
            if self.reloader is not None:
                await self.reloader.close()
            await session.stop()
            with contextlib.suppress(OSError):
                (self.sdir / STATE_FILE).unlink()

    async def _serve(
        self,
        ready: IO[str],
        session: Session,
        agent: tuple[socket.socket, subprocess.Popen[bytes], float],
    ) -> int:
        self.session = session
        spec, data_dir, session_id = session.spec, session.data_dir, session.session_id
        start = asyncio.create_task(
            session.start(connect_timeout=self.cfg.connect_timeout, booting=agent)
        )
        stop = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not start.done():
            start.cancel()
            with contextlib.suppress(BaseException):
                await start
            report(ready, ok=False, error="the daemon was stopped while the agent was starting")
            return 1
        try:
            start.result()
        except (EngineError, LaunchError, OSError) as e:
            log.error("start failed: %s", e)
            report(
                ready,
                ok=False,
                error=str(e),
                log_tail=getattr(e, "log_tail", "") or tail(session.agent_log),
                agent_log=str(session.agent_log),
            )
            return 1
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=READ_BUFFER)
        assert session.proc is not None
        self.state = SessionState(
            key=self.key,
            session_id=session_id,
            project=str(spec.project),
            name=self.cfg.name,
            agent_file=str(spec.agent_file),
            daemon_pid=os.getpid(),
            agent_pid=session.proc.pid,
            control_port=server.sockets[0].getsockname()[1],
            agent_port=session.engine.port,
            token=self.token,
            agent_log=str(session.agent_log),
            daemon_log=str(data_dir / "daemon.log"),
            event_log=str(session.event_log_path),
            started_at=session.started_at,
            agent_id=agent_id(session.agent_info),
        )
        self.state.save(self.sdir)
        boot = [i.to_dict() for i in session.items]
        self.seen.mark_all(session.items)  # `start` prints them
        self.last_activity = time.monotonic()
        watcher = await self._start_watch() if self.cfg.watch else None
        report(ready, ok=True, state=self.status(), agent_info=session.agent_info, items=boot)
        idle = asyncio.create_task(self._idle_watch(), name="parley-idle")
        try:
            await self.stopping.wait()
            log.info("stopping")
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(BaseException):
                    await watcher
            if self.reloader is not None:
                await self.reloader.close()
            await session.stop()
        finally:
            idle.cancel()
            server.close()
            await server.wait_closed()
        return 0

    # -- activity and the idle timeout ----------------------------------------------

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """A client following or waiting: the session is in use meanwhile."""
        self._clients_busy += 1
        self.last_activity = time.monotonic()
        try:
            yield
        finally:
            self._clients_busy -= 1
            self.last_activity = time.monotonic()

    def _active(self) -> bool:
        session = self.session
        return bool(
            self._clients_busy or (session is not None and (session.running or session.queued))
        )

    def idle_seconds(self) -> float:
        """Seconds since the last client request, client or turn (0 while in use)."""
        if self._active():
            self.last_activity = time.monotonic()
        return time.monotonic() - self.last_activity

    async def _idle_watch(self) -> None:
        if self.idle_timeout <= 0:
            return
        while True:
            idle = self.idle_seconds()
            if idle >= self.idle_timeout:
                break
            await asyncio.sleep(min(1.0, self.idle_timeout - idle))
        assert self.session is not None
        why = (
            f"the session was stopped after {format_duration(self.idle_timeout)} without "
            "activity (--idle-timeout)"
        )
        log.info("%s", why)
        self.session.engine.emit(it.AgentError(message=why))
        self.stopping.set()

    async def _start_watch(self) -> asyncio.Task[None]:
        """Watch mode: reload the agent when its sources change (:mod:`parley.app.session.watch`).
        Returns once the watch is in place; the spare interpreter starts after."""
        from parley.app.session.reload import Reloader
        from parley.app.session.watch import watch_project

        assert self.session is not None
        self.reloader = reloader = Reloader(
            self.session, warm=True, connect_timeout=self.cfg.connect_timeout
        )
        reloader.on_swap = self._save_agent_state
        watching = asyncio.Event()
        task = asyncio.create_task(
            watch_project(reloader, self.session.spec.project, self.stopping, watching),
            name="parley-watch-files",
        )
        ready = asyncio.create_task(watching.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():  # the watch could not start (e.g. the OS watch limit)
            task.result()
        asyncio.create_task(reloader.prepare(), name="parley-spare")
        return task

    def status(self) -> DaemonStatus:
        """The ``status`` answer: the session's status and the daemon's part."""
        assert self.session is not None and self.state is not None
        return {
            **self.session.status(),
            "daemon_pid": os.getpid(),
            "control_port": self.state.control_port,
            "daemon_log": self.state.daemon_log,
            "name": self.state.name,
            "turns": self.session.turns_finished,
            "unseen_items": self.seen.unseen_count(self.session.items),
            "idle_s": round(self.idle_seconds(), 1),
            "idle_timeout_s": self.idle_timeout,
            "watch": self.cfg.watch,
            "reloads": self.reloader.reloads if self.reloader else 0,
            "reload_error": self.reloader.last_error if self.reloader else None,
        }

    # -- control connections -----------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One control connection: the token line (bounded in time and size), then
        the request, validated (:mod:`parley.app.daemon.controlproto`); no request raises out of
        here."""
        if len(self._conns) >= self.max_connections:
            self._log_limited(
                "conns", "over %d control connections: closing new ones", self.max_connections
            )
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._pending[task] = writer
        if len(self._pending) > self.max_pending:  # the oldest unauthenticated one goes
            oldest = next(iter(self._pending))
            self._pending.pop(oldest).close()
        try:
            req = await self._authenticate(reader, writer)
            if req is None:
                return
            if req.get("op") != "status":
                self.last_activity = time.monotonic()
            await self._dispatch(req, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; whatever it started goes on
        except RequestError as e:
            with contextlib.suppress(ConnectionError):
                await send(
                    writer, {"event": "error", "error": f"bad request: {e}", "kind": "request"}
                )
        except Exception as e:  # a bug: the daemon keeps serving and says so
            self._log_limited("handler", "control request failed", exc_info=True)
            with contextlib.suppress(Exception):
                await send(writer, {"event": "error", "error": f"parley failed: {e!r}"})
        finally:
            self._pending.pop(task, None)
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> dict[str, Any] | None:
        """The request of a client that showed the token, or ``None`` after telling
        the peer ``unauthorized`` (no token line within the deadline and size, or a
        wrong one). An unauthenticated peer learns nothing about the format."""
        task = asyncio.current_task()
        try:
            line = await asyncio.wait_for(
                read_line(reader, self.auth_line_limit), self.auth_timeout
            )
            first = parse_line(line) if line else {}
        except (asyncio.TimeoutError, RequestError):
            first = {}
        if not token_ok(first.get("token"), self.token):
            with contextlib.suppress(ConnectionError):
                await send(writer, {"event": "error", "error": "unauthorized", "kind": "auth"})
            return None
        self._pending.pop(task, None)  # type: ignore[arg-type]
        if "op" in first:
            return first
        line = await read_line(reader, CONTROL_LINE_LIMIT)
        return parse_line(line) if line else None

    async def _dispatch(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        req = validate(req)
        handler = getattr(self, f"_op_{req['op']}", None)
        if handler is None:
            raise RequestError(f"unknown op {req['op']!r:.40}")
        await handler(req, writer)
