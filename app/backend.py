"""What the chat UI talks to: a small protocol and its two implementations.

The Textual app (``widgets/``) never reaches the agent, the daemon or a file on its
own: it consumes one :class:`ChatBackend`.

- :class:`DaemonBackend` starts the project's daemon (the launcher of ``parley
  start``, :func:`parley.app.daemon.control.start_daemon`) or attaches to the one already
  running, and then speaks only through :class:`parley.app.daemon.aclient.AsyncControlClient`. A
  person in the UI and an AI agent running ``parley say`` thus share one session.
- :class:`ItemsBackend` serves a fixed list of recorded chat items (snapshot tests,
  the parity test, the benchmark), plus any item :meth:`ItemsBackend.push`-ed later.
- :class:`ReplayBackend` plays a recording at its recorded pace (``parley replay`` in the
  UI), with the pacing of :mod:`parley.app.session.replay`.

No textual import here: this module belongs to the core.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo, SessionHeader
from parley.app.session.eventlog import read_header
from parley.app.session.replay import MAX_GAP, schedule, waits

if TYPE_CHECKING:
    from parley.app.agent.launcher import AgentSpec
    from parley.app.daemon.aclient import AsyncControlClient
    from parley.app.daemon.state import SessionState

ItemsT = TypeVar("ItemsT", bound="ItemsBackend")
T = TypeVar("T")

#: seconds :meth:`DaemonBackend.close` waits for a start beyond its connect timeout
BOOT_GRACE = 30.0


class BackendError(ParleyError):
    """A backend operation failed; the message is meant for the user as is (it
    includes the agent log's tail when the agent failed to start)."""


@runtime_checkable
class ChatBackend(Protocol):
    """The session as the chat UI sees it.

    Call :meth:`start` once, then iterate :meth:`follow` (in a worker) while calling
    the other methods; :meth:`close` last. The agent info is an
    :class:`parley.app.protocol.shapes.AgentInfo` (``get_agent_info`` of livekit-agents).
    Every method raises :class:`BackendError` with a user-facing message when the
    operation fails.
    """

    #: ``True`` for a recorded session: it cannot take turns or restart.
    is_replay: bool

    @property
    def header(self) -> SessionHeader:
        """The session's event log header (:class:`parley.app.protocol.shapes.SessionHeader`);
        ``{}`` while it is not known."""
        ...

    @property
    def agent_log_path(self) -> Path | None:
        """The agent's log file (stdout and stderr), or ``None`` when there is none."""
        ...

    @property
    def event_log_path(self) -> Path | None:
        """The session's event log (``events.jsonl``,
        :mod:`parley.app.session.eventlog`), or ``None`` when the items come from
        elsewhere."""
        ...

    async def start(self) -> AgentInfo:
        """Boot the agent (or attach) and return its agent info. Takes seconds for a
        real agent."""
        ...

    def follow(self) -> AsyncIterator[it.ChatItem]:
        """Every item of the session from the start, then each new one as it
        happens; ends when the session ends. Calling it again resumes after the
        last item it yielded."""
        ...

    async def say(self, text: str) -> str:
        """Queue a turn (it runs after the turns before it); returns its turn id at
        once. Its items arrive through :meth:`follow`."""
        ...

    async def cancel(self) -> list[str]:
        """Cancel the running and queued turns; returns their ids."""
        ...

    async def agent_info(self) -> AgentInfo:
        """The current agent (it changes on a handoff)."""
        ...

    async def agent_alive(self) -> bool:
        """Whether the agent is connected (``False`` after it crashed or ended the
        call)."""
        ...

    async def restart(self) -> AgentInfo:
        """Start the agent again in the same session; returns its agent info."""
        ...

    async def close(self) -> None:
        """Release the session: stop the agent if this backend started it."""
        ...


# -- recorded items -------------------------------------------------------------------


class ItemsBackend:
    """A read-only session made of recorded items.

    ``follow`` yields ``items`` at once, then whatever :meth:`push` adds, until
    :meth:`close`. ``info`` is the agent info to report; by default it is derived
    from the items (the last agent handed to, and the tools it called). ``header``
    is the recording's event log header.
    """

    is_replay = True
    #: what :meth:`say` and :meth:`restart` tell the person this session is
    kind = "a recorded session"

    def __init__(
        self,
        items: Iterable[it.ChatItem],
        *,
        info: AgentInfo | None = None,
        agent_log: Path | None = None,
        header: SessionHeader | None = None,
        event_log: Path | None = None,
    ) -> None:
        self.items: list[it.ChatItem] = list(items)
        self._event_log = event_log
        self._info = info
        self._header: SessionHeader = header.copy() if header else {}
        self._agent_log = agent_log
        self._new: asyncio.Queue[it.ChatItem | None] = asyncio.Queue()
        self._cursor = 0

    @classmethod
    def from_log(cls: type[ItemsT], path: Path | str, **kwargs: Any) -> ItemsT:
        """Items of an event log (``events.jsonl``, see :mod:`parley.app.session.eventlog`) and the
        agent log recorded with it; raises :class:`parley.app.session.eventlog.LogFormatError`."""
        from parley.app.session.eventlog import read_log
        from parley.app.session.recordings import recorded_agent_log

        rec = read_log(path)
        if "agent_log" not in kwargs:
            kwargs["agent_log"] = recorded_agent_log(path)
        kwargs.setdefault("header", rec.header)
        kwargs.setdefault("event_log", Path(path))
        return cls(rec.items, **kwargs)

    @property
    def agent_log_path(self) -> Path | None:
        return self._agent_log

    @property
    def event_log_path(self) -> Path | None:
        return self._event_log

    @property
    def header(self) -> SessionHeader:
        return self._header.copy()

    def push(self, item: it.ChatItem) -> None:
        """Add one item to the stream (tests and the benchmark feed live items so)."""
        self.items.append(item)
        self._new.put_nowait(item)

    async def start(self) -> AgentInfo:
        return await self.agent_info()

    async def follow(self) -> AsyncIterator[it.ChatItem]:
        backlog = self.items[self._cursor :]
        # items pushed before follow() started are in the backlog already
        while not self._new.empty():
            self._new.get_nowait()
        for item in backlog:
            self._cursor += 1
            yield item
        while True:
            new = await self._new.get()
            if new is None:
                return
            self._cursor += 1
            yield new

    async def say(self, text: str) -> str:
        raise BackendError(f"this is {self.kind}: it cannot take new turns")

    async def cancel(self) -> list[str]:
        return []

    async def agent_info(self) -> AgentInfo:
        if self._info is not None:
            return self._info.copy()
        return derive_agent_info(self.items)

    async def agent_alive(self) -> bool:
        return True

    async def restart(self) -> AgentInfo:
        raise BackendError(f"this is {self.kind}: there is no agent to restart")

    async def close(self) -> None:
        self._new.put_nowait(None)


def derive_agent_info(
    items: Iterable[it.ChatItem],
    *,
    agent: str | None = None,
    calls: Iterable[it.ChatItem] | None = None,
) -> AgentInfo:
    """Agent info reconstructed from items: the last agent handed to in ``items``
    (``agent`` before any handoff), the tools it was seen calling in ``calls``
    (default: ``items``; sorted), and no instructions."""
    items = list(items)
    for item in items:
        if isinstance(item, it.Handoff):
            agent = item.to_agent
    tools = {
        i.name
        for i in (items if calls is None else calls)
        if isinstance(i, it.ToolCall) and i.agent_id == agent
    }
    return {"id": agent or "agent", "instructions": "", "tools": sorted(tools)}


class ReplayBackend(ItemsBackend):
    """A recorded session played back at its recorded pace, for the chat UI.

    :meth:`follow` yields the recording's items at their
    :func:`parley.app.session.replay.schedule` offsets (``speed``, ``max_gap``) from the
    moment it is first iterated (resuming after the last item it yielded when called
    again) and then stays open, without an end, until :meth:`close`, so the screen keeps
    the finished replay. ``done`` is set once every item has been yielded. The agent info
    follows the handoffs played so far (tools: those the agent was seen calling anywhere in
    the recording). No agent runs: :meth:`say` and :meth:`restart` raise
    :class:`BackendError`. Build one from a file with :meth:`from_log`.
    """

    kind = "a replay of a recorded session"

    def __init__(
        self,
        items: Iterable[it.ChatItem],
        *,
        speed: float = 1.0,
        max_gap: float = MAX_GAP,
        header: SessionHeader | None = None,
        agent_log: Path | None = None,
        event_log: Path | None = None,
    ) -> None:
        super().__init__(items, header=header, agent_log=agent_log, event_log=event_log)
        self.speed = speed
        #: playback offset of each item, seconds from the start
        self.offsets = schedule(self.items, speed, max_gap)
        self.done = asyncio.Event()
        self._closed = asyncio.Event()

    @property
    def played(self) -> int:
        """How many items :meth:`follow` has yielded."""
        return self._cursor

    async def follow(self) -> AsyncGenerator[it.ChatItem, None]:
        # resuming: the next item keeps its gap to the last one yielded
        for n, delay in waits(self.offsets, self._cursor, asyncio.get_running_loop().time):
            if delay > 0:
                await asyncio.sleep(delay)
            self._cursor = n + 1
            yield self.items[n]
        self.done.set()
        await self._closed.wait()

    async def agent_info(self) -> AgentInfo:
        return derive_agent_info(
            self.items[: self._cursor], agent=self.header.get("agent_id"), calls=self.items
        )

    async def close(self) -> None:
        self._closed.set()


# -- a daemon -------------------------------------------------------------------------


class DaemonBackend:
    """The project's daemon, started by this backend or already running.

    ``spec`` says which agent to run (:class:`parley.app.agent.launcher.AgentSpec`); with
    ``attach_only`` the backend only attaches to the daemon of the project
    containing ``cwd`` and never starts an agent (``spec`` may then be ``None``).
    :meth:`close` stops the daemon only if this backend started it: ``stop``, then
    wait until the daemon process is gone; if it hangs, kill the agent's process
    group and the daemon.

    The start (or attach) runs in a thread of its own, tracked by a
    :class:`concurrent.futures.Future` that :meth:`close` waits on (at most
    ``connect_timeout`` + :data:`BOOT_GRACE` seconds) from any event loop: a quit
    during boot may end the app's loop while the daemon is still starting, and the
    daemon that start leaves running must still be stopped.
    """

    is_replay = False

    def __init__(
        self,
        spec: AgentSpec | None = None,
        *,
        name: str | None = None,
        cwd: Path | None = None,
        attach_only: bool = False,
        connect_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        idle_timeout: float = 30 * 60.0,
        watch: bool = False,
    ) -> None:
        if spec is None and not attach_only:
            raise ValueError("DaemonBackend needs an AgentSpec unless attach_only")
        self.spec = spec
        self.name = name
        self.cwd = cwd or Path.cwd()
        self.attach_only = attach_only
        self.connect_timeout = connect_timeout
        self.stop_timeout = stop_timeout
        self.idle_timeout = idle_timeout
        #: start the daemon in watch mode (reload the agent when its sources change)
        self.watch = watch
        #: the daemon's state file, once started (or attached)
        self.state: SessionState | None = None
        #: the control client of that daemon, once started
        self.client: AsyncControlClient | None = None
        self.started_daemon = False
        self.closed = False
        self.last_seq = 0
        self._starting: asyncio.Future[AgentInfo] | None = None
        self._boot: concurrent.futures.Future[SessionState] | None = None  # the start thread
        self._header: SessionHeader | None = None

    @property
    def agent_log_path(self) -> Path | None:
        return Path(self.state.agent_log) if self.state else None

    @property
    def event_log_path(self) -> Path | None:
        return Path(self.state.event_log) if self.state else None

    @property
    def header(self) -> SessionHeader:
        """The header line of the session's event log (from the state file when the
        log cannot be read)."""
        if self.state is None:
            return {}
        if self._header is None:
            self._header = read_header(self.state.event_log) or {
                "session_id": self.state.session_id,
                "project": self.state.project,
                "agent_file": self.state.agent_file,
                "agent_id": self.state.agent_id,
                "started_at": self.state.started_at,
            }
        return self._header.copy()

    @property
    def booting(self) -> bool:
        """Whether the start (or attach) thread is still running."""
        return self._boot is not None and not self._boot.done()

    async def start(self) -> AgentInfo:
        failed = (
            self._starting is not None
            and self._starting.done()
            and (self._starting.cancelled() or self._starting.exception() is not None)
        )
        if self._starting is None or failed:  # a failed start may be retried
            self._starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self) -> AgentInfo:
        from parley.app.daemon.aclient import AsyncControlClient

        state = await asyncio.wrap_future(self._boot_thread())
        self.client = AsyncControlClient(state)
        return await self.agent_info()

    def _boot_thread(self) -> concurrent.futures.Future[SessionState]:
        """Run :meth:`_locate` or :meth:`_start_or_attach` in a new thread; the
        future cannot be cancelled (the thread always runs to its end) and
        ``self.state`` is set before it resolves."""
        fut: concurrent.futures.Future[SessionState] = concurrent.futures.Future()
        fut.set_running_or_notify_cancel()
        work = self._locate if self.attach_only else self._start_or_attach

        def run() -> None:
            try:
                state = work()
            except BaseException as e:
                fut.set_exception(e)
            else:
                self.state = state
                fut.set_result(state)

        self._boot = fut
        threading.Thread(target=run, name="parley-boot", daemon=True).start()
        return fut

    def _locate(self) -> SessionState:
        from parley.app.daemon.client import NoSession, locate

        try:
            return locate(self.cwd, self.name)
        except NoSession as e:
            raise BackendError(str(e)) from None

    def _start_or_attach(self) -> SessionState:
        from parley.app.daemon.control import AlreadyRunning, StartError, start_daemon
        from parley.app.daemon.state import SessionState, session_dir, session_key

        if self.spec is None:
            raise BackendError("no agent to start (this backend only attaches)")
        try:
            start_daemon(
                self.spec,
                self.name,
                self.connect_timeout,
                self.idle_timeout,
                watch=self.watch,
            )
        except AlreadyRunning as e:
            if Path(e.state.agent_file).resolve() != Path(self.spec.agent_file).resolve():
                raise BackendError(str(e)) from None
            return e.state
        except StartError as e:
            raise BackendError(f"the agent failed to start: {e}") from None
        self.started_daemon = True
        state = SessionState.load(session_dir(session_key(self.spec.project, self.name)))
        if state is None:
            raise BackendError("the daemon started but left no state file")
        return state

    async def follow(self) -> AsyncIterator[it.ChatItem]:
        client = self._client()
        try:
            async for item in client.follow(since=self.last_seq):
                self.last_seq = max(self.last_seq, item.seq)
                yield item
        except OSError as e:
            raise BackendError(f"lost the connection to the daemon: {e}") from None

    async def say(self, text: str) -> str:
        return await self._call(lambda client: client.say(text))

    async def cancel(self) -> list[str]:
        return await self._call(lambda client: client.cancel())

    async def agent_info(self) -> AgentInfo:
        return await self._call(lambda client: client.agent_info())

    async def agent_alive(self) -> bool:
        if self.client is None:
            return False
        try:
            st = await self.client.status()
        except Exception:
            return False
        return st["agent_connected"]

    async def restart(self) -> AgentInfo:
        return await self._call(lambda client: client.restart())

    def _client(self) -> AsyncControlClient:
        if self.client is None:
            raise BackendError("the session has not started yet")
        return self.client

    async def _call(self, request: Callable[[AsyncControlClient], Awaitable[T]]) -> T:
        """``request(client)``, its failures as :class:`BackendError`."""
        from parley.app.daemon.client import ControlError

        client = self._client()
        try:
            return await request(client)
        except ControlError as e:
            raise BackendError(str(e)) from None
        except (OSError, ConnectionError) as e:
            raise BackendError(f"could not reach the daemon: {e}") from None

    async def close(self) -> None:
        if self.closed:
            return
        boot = self._boot
        if boot is not None and not boot.done():
            # a quit during boot (maybe from another event loop than the boot's):
            # let the start thread finish, then stop what it started
            await asyncio.wait(
                [asyncio.wrap_future(boot)], timeout=self.connect_timeout + BOOT_GRACE
            )
        if self.started_daemon and self.state is not None:
            await asyncio.to_thread(self._stop_daemon, self.state)
        self.closed = True

    def _stop_daemon(self, state: SessionState) -> None:
        import psutil

        from parley.app.agent.launcher import stop_process_group
        from parley.app.daemon.client import ControlClient

        client = ControlClient(state)
        agent_pid = state.agent_pid
        answer = min(5.0, self.stop_timeout)  # a hung daemon does not answer at all
        with contextlib.suppress(Exception):
            agent_pid = client.status(timeout=answer)["agent_pid"] or agent_pid
        with contextlib.suppress(Exception):
            client.call("stop", timeout=answer)
        if client.wait_gone(timeout=self.stop_timeout):
            return
        # the daemon hangs: kill the agent's group (SIGTERM, then SIGKILL) and the daemon
        if agent_pid:
            stop_process_group(agent_pid)
        if psutil.pid_exists(state.daemon_pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(state.daemon_pid, signal.SIGKILL)
        client.wait_gone(timeout=5)
