"""A live session: the agent process, its engine, the turn queue, the event log and
everyone following the stream.

The daemon serves one :class:`Session` to its control clients: ``parley say`` and the
other headless commands, and ``parley chat`` through
:class:`parley.app.backend.DaemonBackend`. Every front-end therefore sees the very same
items, numbered once.

Turns are serialised: :meth:`Session.submit` queues a turn and one worker runs them
in order, each as ``run_input`` on the engine.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.app.agent import procwait
from parley.app.agent.agentlog import tail
from parley.app.agent.engine import (
    BOOT_SETTLE_TIMEOUT,
    AgentDied,
    EngineError,
    SessionEngine,
)
from parley.app.agent.launcher import AgentSpec, spawn_agent, stop_process_group
from parley.app.errors import command_hint
from parley.app.protocol import items as it
from parley.app.protocol.limits import check_text
from parley.app.protocol.shapes import AgentInfo, SessionHeader, SessionStatus, agent_id
from parley.app.session.eventlog import EVENTS_FILE, EventLog, parley_version

log = logging.getLogger("parley.session")


CALL_ENDED = "the agent ended the call"
#: seconds an agent that closed its connection has to exit before it counts as
#: lingering (livekit-agents after ``end_call``: the job process stays up)
EXIT_AFTER_DISCONNECT = 2.0


def call_ended_message(name: str | None = None) -> str:
    """What a client reads after the agent ended the call, its hint naming session
    ``name``."""
    start = command_hint("start", name)
    return f"{CALL_ENDED}; `{start}` starts a new session (no `parley stop` needed)"


def ended_item(code: int | None, name: str | None = None) -> it.AgentError:
    """The item for an agent that closed its connection: ``code`` is its exit code, or
    ``None`` while its process lingers (livekit-agents after ``end_call`` or
    ``session.shutdown()``: the session closes, the job process stays). An agent that
    closed the session itself (``None`` or exit 0) ended the call, which is no crash.
    The hints name session ``name`` (``-s NAME``)."""
    if code in (None, 0):
        return it.AgentError(message=call_ended_message(name), kind="call_ended")
    logs, restart, stop = (command_hint(c, name) for c in ("logs", "restart", "stop"))
    return it.AgentError(
        message=f"the agent exited with code {code}; see `{logs}`, start it again with "
        f"`{restart}` or end the session with `{stop}`",
        kind="agent_exited",
    )


@dataclass
class Turn:
    """A queued or running turn; ``done`` resolves with its ``turn_finished`` item."""

    turn_id: str
    text: str
    done: asyncio.Future[it.TurnFinished] = field(repr=False)
    #: the agent log's size (bytes) when the turn was handed to the agent; ``None``
    #: while it is queued. What the agent logs from there on is the turn's log.
    log_start: int | None = None


def _seq(item: it.ChatItem) -> int:
    return item.seq


class Session:
    """One agent, its chat items and its turn queue.

    ``items`` holds every item so far (seq order). Followers get an
    ``asyncio.Queue`` from :meth:`subscribe` that receives the backlog after a given
    seq and then every new item; ``None`` marks the end of the session.
    """

    def __init__(
        self, spec: AgentSpec, *, session_id: str, data_dir: Path, name: str | None = None
    ) -> None:
        self.spec = spec
        #: the session's name (``-s NAME``), for the hints in its messages
        self.name = name
        self.session_id = session_id
        self.data_dir = data_dir
        self.agent_log = data_dir / "agent.log"
        self.event_log_path = data_dir / EVENTS_FILE
        self.items: list[it.ChatItem] = []
        #: the ``turn_finished`` items in :attr:`items` (counted as they come: ``status``
        #: costs the same at turn 4,000 as at turn 1)
        self.turns_finished = 0
        #: the agent at boot (or restart, or reload), ``get_agent_info``; ``None`` before
        self.agent_info: AgentInfo | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = time.time()
        #: spawn to connected in text mode, milliseconds (the agent's own boot)
        self.agent_boot_ms: float | None = None
        self.engine = SessionEngine(self._on_item)
        self.running: Turn | None = None
        self._queue: collections.deque[Turn] = collections.deque()
        self._wake = asyncio.Event()
        self._subs: set[asyncio.Queue[it.ChatItem | None]] = set()
        self._event_log: EventLog | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._turn_ids = 0
        self._closed = False
        self._log_retry: asyncio.Task[None] | None = None
        #: extra fields for the event log's header (a rerun names the recording it reran)
        self.header_extra: SessionHeader = {}
        #: while true, queued turns wait (an agent reload is swapping agents:
        #: :mod:`parley.app.session.reload`)
        self.reloading = False

    # -- lifecycle ------------------------------------------------------------------

    async def start(
        self,
        connect_timeout: float = 60.0,
        booting: tuple[socket.socket, subprocess.Popen[bytes], float] | None = None,
    ) -> None:
        """Spawn the agent, wait for it to connect in text mode, read its info, open
        the event log, and settle until the boot greeting (if any) is spoken.

        ``booting`` is an agent already spawned by the caller: the listening socket it
        dials, its process, and when it was spawned (``time.monotonic()``).

        Raises :class:`parley.app.agent.engine.AgentDied` (with the log tail) or
        :class:`parley.app.agent.engine.ConnectTimeout`; the agent process is stopped then.
        """
        await self._boot(connect_timeout, booting)
        self._event_log = EventLog(
            self.event_log_path,
            {
                "parley_version": parley_version(),
                "session_id": self.session_id,
                "project": str(self.spec.project),
                "agent_file": str(self.spec.agent_file),
                "agent_id": agent_id(self.agent_info),
                "started_at": self.started_at,
                "agent_args": list(self.spec.extra_args),
                **self.header_extra,
            },
        )
        for item in self.items:
            if not self._event_log.append(item):
                self._event_log_failed()
        await self._settle()

    async def restart(self, connect_timeout: float = 60.0) -> None:
        """Stop the agent (if it still runs) and start it again in this session.

        Running and queued turns are cancelled; items go on numbering from where they
        were and land in the same event log. Raises like :meth:`start`.
        """
        self.cancel()
        await self._stop_tasks()
        await self._stop_agent()
        await self.engine.close()
        next_seq = self.items[-1].seq + 1 if self.items else 1
        self.engine = SessionEngine(self._on_item, first_seq=next_seq)
        await self._boot(connect_timeout)
        await self._settle()

    async def _boot(
        self,
        connect_timeout: float,
        booting: tuple[socket.socket, subprocess.Popen[bytes], float] | None = None,
    ) -> None:
        t0 = time.monotonic()
        if booting is not None:
            sock, self.proc, t0 = booting
            log_offset = 0  # the daemon spawned it into a new session's fresh log
            await self.engine.listen(sock)
        else:
            port = await self.engine.listen()
            try:
                log_offset = os.path.getsize(self.agent_log)  # what this boot writes
            except OSError:
                log_offset = 0
            self.proc = spawn_agent(self.spec, port, self.agent_log)
        try:
            await self.engine.connect(
                self.proc, str(self.agent_log), connect_timeout, log_offset=log_offset
            )
            self.agent_boot_ms = round((time.monotonic() - t0) * 1000, 1)
            self.agent_info = await self.engine.agent_info()
        except BaseException:
            self.engine.disconnected.set()  # no agent: submit() refuses turns
            await self._stop_agent()
            raise
        self._tasks = [
            asyncio.create_task(self._turn_worker(), name="parley-turns"),
            asyncio.create_task(self._watch_agent(), name="parley-watch"),
        ]

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _settle(self, timeout: float = BOOT_SETTLE_TIMEOUT) -> None:
        """Wait until the agent is idle after boot by the rule that ends a turn
        (:meth:`parley.app.agent.engine.SessionEngine.wait_idle`: its greeting spoken, tasks started
        in ``on_enter`` waiting for the user), so the greeting is in ``items`` before
        ``start`` returns; then read the agent info again, as the agent in charge may
        have changed (an ``AgentTask`` run from ``on_enter``). Gives up waiting after
        ``timeout`` seconds; a later greeting still arrives, as an unprompted item that
        the next ``say`` prints first."""
        await self.engine.wait_idle(timeout)
        if self.agent_alive:
            with contextlib.suppress(EngineError):
                self.agent_info = await self.engine.agent_info()

    async def stop(self) -> None:
        """Cancel running and queued turns, stop the agent process group (SIGTERM, then SIGKILL),
        close the connection and the event log, and end every follower's stream."""
        if self._closed:
            return
        self.cancel()  # waiting clients see their turns end as cancelled
        self._closed = True
        await self._stop_tasks()
        await self._stop_agent()
        await self.engine.close()
        if self._log_retry is not None:
            self._log_retry.cancel()
        if self._event_log is not None:
            self._event_log.close()
        for q in self._subs:
            q.put_nowait(None)

    async def _stop_agent(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            await asyncio.to_thread(stop_process_group, self.proc.pid)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(self.proc.wait, 5)

    async def _watch_agent(self) -> None:
        """Report an agent that disconnects or exits while the session runs."""
        await self.engine.disconnected.wait()
        code = None
        if self.proc is not None:  # the exit follows the disconnect closely, if it comes
            with contextlib.suppress(asyncio.TimeoutError):
                code = await asyncio.wait_for(procwait.exited(self.proc), EXIT_AFTER_DISCONNECT)
        self.engine.emit(ended_item(code, self.name))

    @property
    def queued(self) -> int:
        """How many turns wait behind the running one."""
        return len(self._queue)

    @property
    def agent_alive(self) -> bool:
        return not self.engine.disconnected.is_set()

    def agent_exit_reason(self) -> str:
        """Why the agent is gone, with its log tail when it crashed (for clients' error
        messages)."""
        code = self.proc.poll() if self.proc else None
        if code in (None, 0):  # it closed the session itself: not a crash
            return call_ended_message(self.name)
        return (
            f"the agent exited with code {code}. Last lines of {self.agent_log}:\n"
            f"{tail(self.agent_log, 15)}"
        )

    # -- items ----------------------------------------------------------------------

    def _on_item(self, item: it.ChatItem) -> None:
        self.items.append(item)
        if isinstance(item, it.TurnFinished):
            self.turns_finished += 1
        if self._event_log is not None and not self._event_log.append(item):
            self._event_log_failed()
        for q in self._subs:
            q.put_nowait(item)

    def _event_log_failed(self) -> None:
        """A write to the event log failed (a full disk): report it once, as an
        ``agent_error`` item every client sees, and retry until it works again."""
        if self._log_retry is None and not self._closed:
            self._log_retry = asyncio.get_running_loop().create_task(
                self._retry_event_log(), name="parley-event-log-retry"
            )

    async def _retry_event_log(self, every: float = 2.0) -> None:
        """Report the failure (after the item being delivered), then retry the
        waiting lines every ``every`` seconds until they are written."""
        event_log = self._event_log
        assert event_log is not None
        log.error("event log: %s", event_log.error)
        self.engine.emit(
            it.AgentError(
                message=f"parley {event_log.error}: the session goes on, its items are kept "
                "in memory and written to the event log when it can write again (past "
                f"{event_log.max_lines:,} items, the log records a gap instead) "
                f"(see `{command_hint('status', self.name)}`)"
            )
        )
        lost = event_log.lost
        try:
            while not event_log.retry():
                await asyncio.sleep(every)
            if event_log.lost == lost:
                log.info("event log: written again, nothing lost")
            else:
                log.warning(
                    "event log: written again; %d items did not fit in memory (a gap is "
                    "recorded in their place)",
                    event_log.lost - lost,
                )
        finally:
            self._log_retry = None

    @property
    def event_log_error(self) -> str | None:
        """Why the event log is behind (lines wait in memory), or ``None``."""
        return self._event_log.error if self._event_log is not None else None

    def subscribe(self, since: int = 0) -> asyncio.Queue[it.ChatItem | None]:
        """A queue with every item whose ``seq`` is greater than ``since``, then each
        new one live; ``None`` when the session ends. Call :meth:`unsubscribe` when
        done. Costs time in the backlog's length plus the logarithm of the session's (the
        first item is found by bisection on ``seq``); :meth:`follow` for no backlog."""
        q: asyncio.Queue[it.ChatItem | None] = asyncio.Queue()
        for item in self.items[bisect.bisect_right(self.items, since, key=_seq) :]:
            q.put_nowait(item)
        return self._follow(q)

    def follow(self) -> asyncio.Queue[it.ChatItem | None]:
        """A queue of each new item from now on, with no backlog; ``None`` when the
        session ends. What a ``say`` or ``listen`` subscribes to: it costs the same
        (no item of the session is looked at) at turn 4,000 as at turn 1. Call
        :meth:`unsubscribe` when done."""
        return self._follow(asyncio.Queue())

    def _follow(self, q: asyncio.Queue[it.ChatItem | None]) -> asyncio.Queue[it.ChatItem | None]:
        if self._closed:
            q.put_nowait(None)
        else:
            self._subs.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[it.ChatItem | None]) -> None:
        self._subs.discard(q)

    # -- turns ----------------------------------------------------------------------

    def submit(self, text: str) -> Turn:
        """Queue a turn; it runs after the turns before it.

        Raises :class:`parley.app.protocol.limits.InputError` for empty or oversized text and
        :class:`parley.app.agent.engine.EngineError` when the agent is gone or the session is
        stopping.
        """
        check_text(text)
        if self._closed:
            raise EngineError("the session is stopping")
        if not self.agent_alive:
            raise EngineError(self.agent_exit_reason())
        self._turn_ids += 1
        turn = Turn(f"t{self._turn_ids}", text, asyncio.get_running_loop().create_future())
        self._queue.append(turn)
        self._wake.set()
        return turn

    async def _turn_worker(self) -> None:
        while True:
            while not self._queue or self.reloading:
                self._wake.clear()
                await self._wake.wait()
            turn = self._queue.popleft()
            try:
                turn.log_start = os.path.getsize(self.agent_log)
            except OSError:
                turn.log_start = 0
            self.engine.begin_turn(turn.text, turn.turn_id)
            self.running = turn
            task = asyncio.create_task(self.engine.run_turn(turn.text, turn.turn_id))
            # a cancel resolves turn.done first; the run_input then goes on unawaited
            either: set[asyncio.Future[Any]] = {task, turn.done}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            self.running = None
            if task.done() and not turn.done.done():
                try:
                    finished = task.result()
                except Exception as e:  # e.g. the event log's disk is full: the queue goes on
                    log.exception("turn %s failed", turn.turn_id)
                    finished = self.engine.finish_turn("error", f"parley failed: {e}")
                if finished is not None:
                    turn.done.set_result(finished)

    def cancel(self, turn_id: str | None = None) -> list[str]:
        """Cancel the running turn and every queued one (or only ``turn_id``).

        Each ends with a ``turn_finished`` item of status ``cancelled``; a queued turn
        never reaches the agent but its user message is recorded. Returns the ids of
        the turns cancelled; an idle cancel is a no-op returning ``[]``.
        """
        cancelled: list[str] = []
        running = self.running
        if running is not None and turn_id in (None, running.turn_id):
            finished = self.engine.cancel_turn(running.turn_id)
            if finished is not None and not running.done.done():
                running.done.set_result(finished)
                cancelled.append(running.turn_id)
        for turn in list(self._queue):
            if turn_id not in (None, turn.turn_id):
                continue
            self._queue.remove(turn)
            self.engine.emit(it.UserMessage(text=turn.text, turn_id=turn.turn_id))
            finished = self.engine.emit(it.TurnFinished(status="cancelled", turn_id=turn.turn_id))
            turn.done.set_result(finished)
            cancelled.append(turn.turn_id)
        return cancelled

    async def agent_history(self) -> list[it.ChatItem]:
        """The running agent's own chat history (``get_chat_history``)."""
        if not self.agent_alive:
            raise AgentDied(self.agent_exit_reason())
        return await self.engine.chat_history()

    def status(self) -> SessionStatus:
        """A JSON-able snapshot: agent, state, turns, pids, logs (see
        :class:`parley.app.protocol.shapes.SessionStatus`)."""
        return {
            "session_id": self.session_id,
            "project": str(self.spec.project),
            "agent_file": str(self.spec.agent_file),
            "agent_kind": self.spec.kind,
            "runtime": self.spec.runtime_line,
            "framework": self.engine.framework,
            "background_errors": self.engine.background_errors,
            "agent_id": self.engine.agent_id or agent_id(self.agent_info),
            "agent_state": self.engine.agent_state if self.agent_alive else "disconnected",
            "agent_connected": self.agent_alive,
            # the agent closed the session itself (end_call): not a crash
            "call_ended": not self.agent_alive
            and self.proc is not None
            and self.proc.poll() in (None, 0),
            "agent_pid": self.proc.pid if self.proc else None,
            "agent_exit_code": self.proc.poll() if self.proc else None,
            "turn_in_progress": self.running.turn_id if self.running else None,
            "turns_queued": [t.turn_id for t in self._queue],
            "items": len(self.items),
            "agent_boot_ms": self.agent_boot_ms,
            "started_at": self.started_at,
            "agent_log": str(self.agent_log),
            "event_log": str(self.event_log_path),
            "event_log_error": self.event_log_error,
            "event_log_waiting": self._event_log.waiting if self._event_log else 0,
        }
