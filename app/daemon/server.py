"""The daemon's control server: serves one :class:`parley.app.session.session.Session` to clients.

Imported by :mod:`parley.app.daemon.process` once the agent is already booting (see there for the
process's lifecycle).

Control channel: loopback TCP on an ephemeral port; each connection sends its token
line ``{"token": ...}`` then one request line ``{"op": ..., ...}`` (or both in one line)
and gets JSON lines back (the limits and checks are in :mod:`parley.app.daemon.controlproto`). A
connection whose token does not match the one in the 0600 state file, or that does not
send it within 2 s and 4 KiB, gets ``{"event": "error", "error": "unauthorized"}`` and
is closed. Ops (see :mod:`parley.app.daemon.client` for the client side):

``status``            ``{"event": "status", ...}`` (:meth:`Session.status` + pids)
``say``               ``{"event": "accepted", "turn_id"}``, then the items no client
                      was shown yet (``"before_turn": true``), then the turn's items and
                      the unprompted ones as ``{"event": "item", "item": {...}}``
                      until the turn's ``turn_finished``; ``wait: false`` stops after
                      ``accepted``. In between, ``{"event": "log", "turn_id", "lines",
                      "failure"}``: with ``logs: true`` every agent-log line of the
                      turn (``failure`` false), else the error lines (traceback) when
                      a tool errors or the turn fails (``failure`` true)
``events``            items with ``seq > since``; with ``follow`` every new one too
``listen``            the unseen items, then every new one no ``say`` is waiting for,
                      until the agent goes quiet after saying something (``quiet``
                      seconds of silence, idle, no turn or tool running):
                      ``{"event": "quiet"}``
``agent_history``     ``{"event": "agent_history", "items": [...]}``
``cancel``            cancel the running and queued turns (or ``turn_id`` only):
                      ``{"event": "cancelled", "turns": [...]}``
``agent_info``        ``get_agent_info`` of the current agent: id, instructions, tools
``restart``           stop the agent and start it again in the same session
``stop``              ``{"event": "stopping", "summary": {...}}`` (turns, seconds, last
                      agent, agent log, event log); the daemon then stops the agent and
                      exits (clients wait for the pid to go away)

Idle timeout (``idle_timeout`` in the config, seconds, 0 = never): with no client
request (``status`` aside), no client following or waiting, and no turn running or
queued for that long, the daemon records why and stops the session.

Errors are ``{"event": "error", "error": message, "kind": "input" | "agent" |
"request" | "auth" | ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from parley.app.agent.turnlog import TurnLog
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
from parley.app.daemon.ready import report
from parley.app.daemon.seen import SeenItems, noteworthy
from parley.app.daemon.state import STATE_FILE, SessionState, session_dir
from parley.app.protocol import items as it
from parley.app.protocol.latency import format_duration
from parley.app.protocol.limits import CONTROL_LINE_LIMIT, InputError
from parley.app.protocol.shapes import DaemonStatus, StopSummary, agent_id
from parley.app.session.session import Session, Turn

if TYPE_CHECKING:
    from parley.app.daemon.config import DaemonConfig
    from parley.app.session.reload import Reloader

log = logging.getLogger("parley.daemon")

#: how often ``say --logs`` looks for new agent-log lines while it waits for items, s
LOG_POLL_S = 0.1


class Daemon:
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

    def summary(self) -> StopSummary:
        """What `stop` prints: turns run, seconds since start, the agent in charge at
        the end, where its log and the recording are."""
        assert self.session is not None
        session = self.session
        return {
            "turns": sum(isinstance(i, it.TurnFinished) for i in session.items),
            "seconds": round(time.time() - session.started_at, 3),
            "agent_id": session.engine.agent_id or agent_id(session.agent_info),
            "agent_log": str(session.agent_log),
            "event_log": str(session.event_log_path),
            "session_id": session.session_id,
        }

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
            "turns": sum(isinstance(i, it.TurnFinished) for i in self.session.items),
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
                await _send(
                    writer, {"event": "error", "error": f"bad request: {e}", "kind": "request"}
                )
        except Exception as e:  # a bug: the daemon keeps serving and says so
            self._log_limited("handler", "control request failed", exc_info=True)
            with contextlib.suppress(Exception):
                await _send(writer, {"event": "error", "error": f"parley failed: {e!r}"})
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
                await _send(writer, {"event": "error", "error": "unauthorized", "kind": "auth"})
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

    async def _op_status(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        await _send(writer, {"event": "status", **self.status()})

    def _unseen_backlog(self) -> list[it.ChatItem]:
        """Items no client was shown, minus those of a turn a `say` is waiting on."""
        assert self.session is not None
        return [i for i in self.seen.unseen(self.session.items) if i.turn_id not in self.watched]

    def _live(self) -> asyncio.Queue[it.ChatItem | None]:
        """A subscription to the items from now on."""
        assert self.session is not None
        items = self.session.items
        return self.session.subscribe(since=items[-1].seq if items else 0)

    async def _send_item(
        self, writer: asyncio.StreamWriter, item: it.ChatItem, **extra: Any
    ) -> None:
        await _send(writer, {"event": "item", "item": item.to_dict(), **extra})
        self.seen.mark(item.seq)

    async def _op_say(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        session = self.session
        assert session is not None
        backlog = self._unseen_backlog()
        q = self._live()
        turn_id = None
        try:
            try:
                turn = session.submit(req["text"])
            except InputError as e:
                await _send(writer, {"event": "error", "error": str(e), "kind": "input"})
                return
            except EngineError as e:
                await _send(writer, {"event": "error", "error": str(e), "kind": "agent"})
                return
            await _send(writer, {"event": "accepted", "turn_id": turn.turn_id})
            if not req["wait"]:
                return
            turn_id = turn.turn_id
            self.watched[turn_id] = self.watched.get(turn_id, 0) + 1
            logs = _TurnLogSender(writer, turn, session.agent_log, req["logs"])
            with self._busy():
                for old in backlog:  # what nobody has seen yet comes first
                    if not self.seen.seen(old.seq):
                        await self._send_item(writer, old, before_turn=True)
                while True:
                    item = await logs.next_item(q)
                    if item is None:
                        await _send(writer, {"event": "error", "error": "the session was stopped"})
                        return
                    if item.turn_id is not None and item.turn_id != turn_id:
                        continue
                    await logs.before(item)
                    finished = isinstance(item, it.TurnFinished) and item.turn_id == turn_id
                    if finished and session.event_log_error:  # the say reports it on stderr
                        warning = f"{session.event_log_error} (items wait in memory)"
                        await _send(writer, {"event": "warning", "warning": warning})
                    await self._send_item(writer, item)
                    await logs.after(item)
                    if finished:
                        return
        finally:
            session.unsubscribe(q)
            if turn_id is not None:
                self.watched[turn_id] -= 1
                if not self.watched[turn_id]:
                    del self.watched[turn_id]

    async def _op_events(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        session = self.session
        assert session is not None
        q = session.subscribe(since=req["since"])
        try:
            with self._busy():
                while True:
                    if not req["follow"] and q.empty():
                        break
                    item = await q.get()
                    if item is None:
                        break
                    await self._send_item(writer, item)
            # the stream ends on purpose: a connection closed without this means the
            # daemon died
            reason = "the session was stopped" if item is None else "no more items"
            await _send(writer, {"event": "end", "reason": reason})
        finally:
            session.unsubscribe(q)

    def _quiet(self) -> bool:
        """The agent says nothing now: idle or listening, no turn, no tool running."""
        assert self.session is not None
        session = self.session
        return (
            session.agent_alive
            and session.engine.agent_state in ("listening", "idle")
            and not (session.running or session.queued)
            and not session.engine.tools_running
        )

    async def _op_listen(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        session = self.session
        assert session is not None
        quiet = float(req["quiet"])
        backlog = self._unseen_backlog()
        q = self._live()
        heard = False
        try:
            with self._busy():
                for old in backlog:
                    if not self.seen.seen(old.seq):
                        await self._send_item(writer, old)
                        heard = heard or noteworthy(old)
                last = time.monotonic()
                while True:
                    try:
                        item = await asyncio.wait_for(q.get(), timeout=min(quiet, 0.1))
                    except asyncio.TimeoutError:
                        if time.monotonic() - last < quiet:
                            continue
                        if heard and self._quiet():
                            await _send(writer, {"event": "quiet"})
                            return
                        if not session.agent_alive:  # it will say nothing more
                            error = session.agent_exit_reason()
                            await _send(writer, {"event": "error", "error": error, "kind": "agent"})
                            return
                        continue
                    if item is None:
                        await _send(writer, {"event": "error", "error": "the session was stopped"})
                        return
                    if item.turn_id in self.watched:
                        continue  # a `say` shows it
                    await self._send_item(writer, item)
                    heard = heard or noteworthy(item)
                    last = time.monotonic()
        finally:
            session.unsubscribe(q)

    async def _op_agent_history(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None
        try:
            items = await self.session.agent_history()
        except EngineError as e:
            await _send(writer, {"event": "error", "error": str(e), "kind": "agent"})
            return
        await _send(writer, {"event": "agent_history", "items": [i.to_dict() for i in items]})

    async def _op_cancel(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None
        turns = self.session.cancel(req["turn_id"])
        await _send(writer, {"event": "cancelled", "turns": turns})

    async def _op_agent_info(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None
        try:
            info = await self.session.engine.agent_info()
        except EngineError as e:
            await _send(writer, {"event": "error", "error": str(e), "kind": "agent"})
            return
        await _send(writer, {"event": "agent_info", **info})

    async def _op_restart(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None and self.state is not None
        before = self.session.items[-1].seq if self.session.items else 0
        try:
            await self.session.restart(self.cfg.connect_timeout)
        except (EngineError, OSError) as e:
            await _send(
                writer,
                {
                    "event": "error",
                    "error": str(e),
                    "kind": "agent",
                    "log_tail": getattr(e, "log_tail", ""),
                },
            )
            return
        self._save_agent_state()
        # what the restart produced (cancelled turns, the agent's greeting): shown now
        new = self.session.subscribe(since=before)
        self.session.unsubscribe(new)
        items = [i for i in (new.get_nowait() for _ in range(new.qsize())) if i is not None]
        self.seen.mark_all(items)
        await _send(
            writer,
            {
                "event": "restarted",
                "agent_info": self.session.agent_info or {},
                "runtime": self.session.spec.runtime_line,
                "items": [i.to_dict() for i in items],
            },
        )

    def _save_agent_state(self) -> None:
        """The session has a new agent (restart, reload): update the state file."""
        assert self.session is not None and self.state is not None
        assert self.session.proc is not None
        self.state.agent_pid = self.session.proc.pid
        self.state.agent_port = self.session.engine.port
        self.state.agent_id = agent_id(self.session.agent_info)
        self.state.save(self.sdir)

    async def _op_stop(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        summary = self.summary()
        await _send(writer, {"event": "stopping", "daemon_pid": os.getpid(), "summary": summary})
        self.stopping.set()


async def _send(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj, ensure_ascii=False).encode() + b"\n")
    await writer.drain()


class _TurnLogSender:
    """The agent-log lines of one ``say``: with ``logs`` every line the agent writes
    during the turn, interleaved with the items as they arrive; without, only the
    failures (ERROR records, tracebacks) when a tool errors or the turn fails.

    Messages: ``{"event": "log", "turn_id", "lines": [raw lines], "failure": bool}``;
    raw lines still carry the agent's escape codes (the client cleans them for its
    output, :func:`parley.app.agent.agentlog.clean_line`).
    """

    def __init__(self, writer: asyncio.StreamWriter, turn: Turn, path: Path, logs: bool) -> None:
        self.writer = writer
        self.turn = turn
        self.log = TurnLog(path)
        self.logs = logs
        self.shown = False  # the turn's first item was sent

    async def next_item(self, q: asyncio.Queue[it.ChatItem | None]) -> it.ChatItem | None:
        """The next item; with ``logs``, sends the log lines written meanwhile every
        :data:`LOG_POLL_S` seconds (once the turn's first item, its user message, is
        sent: everything the agent logs for the turn comes after it)."""
        while self.logs:
            try:
                return await asyncio.wait_for(q.get(), LOG_POLL_S)
            except asyncio.TimeoutError:
                if self.shown:
                    await self._send(self._read(), failure=False)
        return await q.get()

    def _read(self, final: bool = False) -> list[str]:
        if not self.log.started and self.turn.log_start is not None:
            self.log.start(self.turn.log_start)
        return self.log.read(final)

    async def before(self, item: it.ChatItem) -> None:
        if item.turn_id != self.turn.turn_id:
            return
        finished = isinstance(item, it.TurnFinished)
        if self.logs and self.shown:
            await self._send(self._read(final=finished), failure=False)
        elif isinstance(item, it.TurnFinished) and item.status == "error":
            self._read()
            await self._send(self.log.new_failures(), failure=True)

    async def after(self, item: it.ChatItem) -> None:
        if self.logs and not self.shown and item.turn_id == self.turn.turn_id:
            self.shown = True
            if not isinstance(item, it.TurnFinished):
                await self._send(self._read(), failure=False)
        tool_failed = isinstance(item, it.ToolCall) and (item.is_error or item.status == "error")
        if not self.logs and tool_failed and item.turn_id == self.turn.turn_id:
            self._read()
            await self._send(self.log.new_failures(), failure=True)

    async def _send(self, lines: list[str], failure: bool) -> None:
        if lines:
            msg = {"event": "log", "turn_id": self.turn.turn_id, "lines": lines}
            await _send(self.writer, {**msg, "failure": failure})
