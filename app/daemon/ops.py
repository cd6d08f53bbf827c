"""The control requests: what each op of the daemon's control channel does.

:class:`ControlOps` holds one method ``_op_<name>`` per op, given an authenticated,
validated request (:mod:`parley.app.daemon.controlproto`) and the connection's writer;
:class:`parley.app.daemon.server.Daemon` extends it with the server machinery
(connections, authentication, dispatch, idle timeout, state file). Ops (see
:mod:`parley.app.daemon.client` for the client side):

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

Errors are ``{"event": "error", "error": message, "kind": "input" | "agent" |
"request" | "auth" | ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.app.agent.engine import EngineError
from parley.app.agent.logfollow import file_changes
from parley.app.agent.turnlog import TurnLog
from parley.app.daemon.seen import SeenItems, noteworthy
from parley.app.daemon.state import SessionState
from parley.app.protocol import items as it
from parley.app.protocol.limits import InputError
from parley.app.protocol.shapes import DaemonStatus, StopSummary, agent_id
from parley.app.session.session import Session, Turn

if TYPE_CHECKING:
    from parley.app.daemon.config import DaemonConfig

log = logging.getLogger("parley.daemon")

#: how often ``listen`` looks at the agent's state again once the quiet time has passed
#: and the agent was not quiet, s: what :meth:`ControlOps._quiet` reads (the running turn,
#: the queue, tools running) changes without notifying anyone (``Session.running`` is
#: cleared a loop iteration after the turn's ``turn_finished`` item)
QUIET_RECHECK_S = 0.1


class ControlOps:
    """The ops of the control channel, one ``_op_<name>(req, writer)`` each; a
    mixin of :class:`parley.app.daemon.server.Daemon`, whose state it reads: the
    session, the state file, the items clients were shown and the turns a ``say``
    waits on."""

    cfg: DaemonConfig
    session: Session | None
    state: SessionState | None
    #: where the state file is written (parley.app.daemon.state.session_dir)
    sdir: Path
    #: the items some client was shown (see parley.app.daemon.seen)
    seen: SeenItems
    #: turns a `say` client is waiting on: their items are that client's to show
    watched: dict[str, int]
    stopping: asyncio.Event

    if TYPE_CHECKING:  # provided by the server (parley.app.daemon.server.Daemon)

        def status(self) -> DaemonStatus: ...

        def _busy(self) -> contextlib.AbstractContextManager[None]: ...

    async def _op_status(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        await send(writer, {"event": "status", **self.status()})

    def _unseen_backlog(self) -> list[it.ChatItem]:
        """Items no client was shown, minus those of a turn a `say` is waiting on."""
        assert self.session is not None
        return [i for i in self.seen.unseen(self.session.items) if i.turn_id not in self.watched]

    def _subscribe_new(self) -> tuple[list[it.ChatItem], asyncio.Queue[it.ChatItem | None]]:
        """What ``say`` and ``listen`` follow: the unseen backlog
        (:meth:`_unseen_backlog`) and a queue of the items from now on. Looks at the
        unseen items and the last seen one only, so it costs the same whatever the
        session's length (bench/bench_long_session.py)."""
        assert self.session is not None
        return self._unseen_backlog(), self.session.follow()

    async def _send_item(
        self, writer: asyncio.StreamWriter, item: it.ChatItem, **extra: Any
    ) -> None:
        await send(writer, {"event": "item", "item": item.to_dict(), **extra})
        self.seen.mark(item.seq)

    async def _op_say(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        session = self.session
        assert session is not None
        backlog, q = self._subscribe_new()
        turn_id = None
        try:
            try:
                turn = session.submit(req["text"])
            except InputError as e:
                await send(writer, {"event": "error", "error": str(e), "kind": "input"})
                return
            except EngineError as e:
                await send(writer, {"event": "error", "error": str(e), "kind": "agent"})
                return
            await send(writer, {"event": "accepted", "turn_id": turn.turn_id})
            if not req["wait"]:
                return
            turn_id = turn.turn_id
            self.watched[turn_id] = self.watched.get(turn_id, 0) + 1
            logs = _TurnLogSender(writer, turn, session.agent_log, req["logs"])
            with self._busy(), contextlib.closing(logs):
                for old in backlog:  # what nobody has seen yet comes first
                    if not self.seen.seen(old.seq):
                        await self._send_item(writer, old, before_turn=True)
                while True:
                    item = await logs.next_item(q)
                    if item is None:
                        await send(writer, {"event": "error", "error": "the session was stopped"})
                        return
                    if item.turn_id is not None and item.turn_id != turn_id:
                        continue
                    await logs.before(item)
                    finished = isinstance(item, it.TurnFinished) and item.turn_id == turn_id
                    if finished and session.event_log_error:  # the say reports it on stderr
                        warning = f"{session.event_log_error} (items wait in memory)"
                        await send(writer, {"event": "warning", "warning": warning})
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
            await send(writer, {"event": "end", "reason": reason})
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
        backlog, q = self._subscribe_new()
        heard = False
        try:
            with self._busy():
                for old in backlog:
                    if not self.seen.seen(old.seq):
                        await self._send_item(writer, old)
                        heard = heard or noteworthy(old)
                last = time.monotonic()
                while True:
                    # sleep through the quiet time; past it, the agent's state is
                    # looked at again every QUIET_RECHECK_S (see there)
                    left = quiet - (time.monotonic() - last)
                    wait = max(left, min(quiet, QUIET_RECHECK_S))
                    try:
                        item = await asyncio.wait_for(q.get(), wait)
                    except asyncio.TimeoutError:
                        if time.monotonic() - last < quiet:
                            continue
                        if heard and self._quiet():
                            await send(writer, {"event": "quiet"})
                            return
                        if not session.agent_alive:  # it will say nothing more
                            error = session.agent_exit_reason()
                            await send(writer, {"event": "error", "error": error, "kind": "agent"})
                            return
                        continue
                    if item is None:
                        await send(writer, {"event": "error", "error": "the session was stopped"})
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
            await send(writer, {"event": "error", "error": str(e), "kind": "agent"})
            return
        await send(writer, {"event": "agent_history", "items": [i.to_dict() for i in items]})

    async def _op_cancel(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None
        turns = self.session.cancel(req["turn_id"])
        await send(writer, {"event": "cancelled", "turns": turns})

    async def _op_agent_info(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None
        try:
            info = await self.session.engine.agent_info()
        except EngineError as e:
            await send(writer, {"event": "error", "error": str(e), "kind": "agent"})
            return
        await send(writer, {"event": "agent_info", **info})

    async def _op_restart(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        assert self.session is not None and self.state is not None
        before = self.session.items[-1].seq if self.session.items else 0
        try:
            await self.session.restart(self.cfg.connect_timeout)
        except (EngineError, OSError) as e:
            await send(
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
        await send(
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

    def summary(self) -> StopSummary:
        """What `stop` prints: turns run, seconds since start, the agent in charge at
        the end, where its log and the recording are."""
        assert self.session is not None
        session = self.session
        return {
            "turns": session.turns_finished,
            "seconds": round(time.time() - session.started_at, 3),
            "agent_id": session.engine.agent_id or agent_id(session.agent_info),
            "agent_log": str(session.agent_log),
            "event_log": str(session.event_log_path),
            "session_id": session.session_id,
        }

    async def _op_stop(self, req: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        summary = self.summary()
        await send(writer, {"event": "stopping", "daemon_pid": os.getpid(), "summary": summary})
        self.stopping.set()


async def send(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    """Write one JSON line to a control connection and wait until it is sent."""
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
        self._changed = asyncio.Event()  # the log changed since the last read
        self._stop = asyncio.Event()
        self._watch: asyncio.Task[None] | None = None

    async def next_item(self, q: asyncio.Queue[it.ChatItem | None]) -> it.ChatItem | None:
        """The next item; with ``logs``, sends the log lines the agent writes
        meanwhile as it writes them (the log's changes are watched,
        :func:`parley.app.agent.logfollow.file_changes`), once the turn's first item,
        its user message, is sent: everything the agent logs for the turn comes after
        it."""
        if not self.logs:
            return await q.get()
        if self._watch is None:
            self._watch = asyncio.create_task(self._watch_log(), name="parley-say-logs")
        get = asyncio.ensure_future(q.get())
        try:
            while True:
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({get, changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if get.done():
                    return get.result()
                self._changed.clear()
                if self.shown:
                    await self._send_lines(self._read(), failure=False)
        finally:
            get.cancel()

    async def _watch_log(self) -> None:
        try:
            async with contextlib.aclosing(file_changes(Path(self.log.path), self._stop)) as ch:
                async for _ in ch:
                    self._changed.set()
        except OSError as e:  # no watch (e.g. the OS limit): lines come with the items
            log.warning("say --logs cannot watch %s: %s", self.log.path, e)

    def close(self) -> None:
        """Stop watching the log (the ``say`` is over)."""
        self._stop.set()
        if self._watch is not None:
            self._watch.cancel()

    def _read(self, final: bool = False) -> list[str]:
        if not self.log.started and self.turn.log_start is not None:
            self.log.start(self.turn.log_start)
        return self.log.read(final)

    async def before(self, item: it.ChatItem) -> None:
        if item.turn_id != self.turn.turn_id:
            return
        finished = isinstance(item, it.TurnFinished)
        if self.logs and self.shown:
            await self._send_lines(self._read(final=finished), failure=False)
        elif isinstance(item, it.TurnFinished) and item.status == "error":
            self._read()
            await self._send_lines(self.log.new_failures(), failure=True)

    async def after(self, item: it.ChatItem) -> None:
        if self.logs and not self.shown and item.turn_id == self.turn.turn_id:
            self.shown = True
            if not isinstance(item, it.TurnFinished):
                await self._send_lines(self._read(), failure=False)
        tool_failed = isinstance(item, it.ToolCall) and (item.is_error or item.status == "error")
        if not self.logs and tool_failed and item.turn_id == self.turn.turn_id:
            self._read()
            await self._send_lines(self.log.new_failures(), failure=True)

    async def _send_lines(self, lines: list[str], failure: bool) -> None:
        if lines:
            msg = {"event": "log", "turn_id": self.turn.turn_id, "lines": lines}
            await send(self.writer, {**msg, "failure": failure})
