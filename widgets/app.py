"""The parley chat app: one screen with the transcript, the tool calls and agents
panes, the agent log, a status bar and the input box.

The app talks to a :class:`parley.app.backend.ChatBackend` only. A worker consumes
``backend.follow()`` and posts :class:`ItemsArrived` batches; :meth:`ParleyApp.route`
is the one place that dispatches each chat item to the widget that shows it. Build
the app with :func:`make_app` (the CLI and the tests use it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any, TypeVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from parley.app.agent.agentlog import tail
from parley.app.backend import BackendError, ChatBackend
from parley.app.errors import error_message
from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls, escape_fields
from parley.app.view import View
from parley.widgets.agents_pane import AgentsPane
from parley.widgets.banner import Banner
from parley.widgets.commands import CommandsMixin
from parley.widgets.gc_policy import QuietCollector
from parley.widgets.log_pane import AgentLogPane
from parley.widgets.panes import PanesMixin
from parley.widgets.prompt import PromptInput
from parley.widgets.replay import ReplayMixin
from parley.widgets.rows import clean_text, readable_error
from parley.widgets.status_bar import StatusBar
from parley.widgets.threads import in_thread
from parley.widgets.tools_pane import ToolsPane
from parley.widgets.transcript import Transcript
from parley.widgets.transcript_lines import Notice

W = TypeVar("W", bound=Widget)

CRASH_KEYS = "Ctrl+R restarts the agent in this session · F4 shows the agent log · Ctrl+Q quits"
ENDED_KEYS = "Ctrl+R starts a new call in this session · F4 shows the agent log · Ctrl+Q quits"


class ItemsArrived(Message):
    """A batch of chat items from the backend, in stream order."""

    def __init__(self, items: list[it.ChatItem]) -> None:
        super().__init__()
        self.items = items


class StreamEnded(Message):
    """``backend.follow()`` ended (the session is over) or failed (``error``)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class _End:
    def __init__(self, error: str | None) -> None:
        self.error = error


class ParleyApp(CommandsMixin, PanesMixin, ReplayMixin, App[None]):
    """See the module docstring. ``frozen`` stops spinners and the cursor blink
    (snapshot tests); exports and screenshots go to ``export_dir``.

    Below :data:`parley.widgets.panes.NARROW` columns the screen has the ``-narrow`` class: the side
    panes hide, and F2/F3 open one of them over the transcript (Esc closes it)."""

    CSS_PATH = "parley.tcss"
    TITLE = "parley"

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True,
                tooltip="Quit; stops the agent if this window started it."),
        Binding("ctrl+c", "quit", "Quit", id="quit_ctrl_c", priority=True, show=False),
        Binding("escape", "cancel_turn", "Cancel", id="cancel_turn",
                tooltip="Cancel the running and queued turns and put your messages back "
                "(closes an open pane first on a narrow screen)."),
        Binding("f2", "toggle_pane('tools')", "Tools", id="toggle_tools",
                tooltip="Show or hide the tool calls pane."),
        Binding("f3", "toggle_pane('agents')", "Agents", id="toggle_agents",
                tooltip="Show or hide the agents pane."),
        Binding("f4", "toggle_pane('log')", "Log", id="toggle_log",
                tooltip="Show or hide the agent's log."),
        Binding("ctrl+r", "restart_agent", "Restart", id="restart_agent",
                tooltip="Restart the agent in this session (after a crash or the end of a "
                "call, or any time)."),
        Binding("ctrl+l", "clear_view", "Clear view", id="clear_view", show=False,
                tooltip="Clear the transcript, tool calls and handoffs (the session keeps them)."),
    ]  # fmt: skip

    busy: reactive[bool] = reactive(False)

    def __init__(
        self,
        backend: ChatBackend,
        *,
        title: str | None = None,
        frozen: bool = False,
        export_dir: Path | None = None,
        freeze_gc: bool = False,
    ) -> None:
        super().__init__()
        self.freeze_gc = freeze_gc
        self.gc_policy = QuietCollector()
        self._widgets: dict[type, Any] = {}
        self.backend = backend
        self.frozen = frozen
        self.export_dir = export_dir or Path.cwd()
        if title:
            self.sub_title = title
        self.started = False
        self.stream_ended = False
        self.quitting = False
        self.last_reply: str | None = None
        self.items_seen = 0
        self.loaded = asyncio.Event()  # the first batch is on screen
        #: set when a batch of items is on screen (``items_seen`` grew) and when the app
        #: starts quitting: a waiter (the script runner) clears it, checks, then awaits it
        self.updated = asyncio.Event()
        #: the one fold of the stream: blocks for the transcript and tools pane, turns
        self.view = View()
        #: the turns this window sent and not yet finished (turn id → the text typed, for
        #: Esc to put back): the view's turns cannot tell, as the stream names no sender
        #: and a queued turn's user message only comes when it starts; whether a turn
        #: has finished is the view's (:meth:`_update_busy`)
        self._own_turns: dict[str, str] = {}
        self._say_lock = asyncio.Lock()
        self._starting_notice: Notice | None = None
        # set while routing a batch, applied once after it
        self._info_stale = False
        self._check_agent = False
        self._status_updates: dict[str, Any] = {}
        self.call_ended = False  # the agent ended the call (since the last start)
        self.replay_finished = False
        # side panes: shown in a wide terminal; the one open over the transcript in a
        # narrow one
        self.panes = {"tools": True, "agents": True}
        self.overlay: str | None = None

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Banner(id="banner")
        with Horizontal(id="main"):
            yield Transcript(id="transcript")
            with Vertical(id="side"):
                yield ToolsPane(id="tools")
                yield AgentsPane(id="agents")
        yield AgentLogPane(self.backend.agent_log_path, id="log")
        yield StatusBar(frozen=self.frozen, id="status")
        yield PromptInput(id="prompt")
        yield Footer()

    @property
    def transcript(self) -> Transcript:
        return self._widget(Transcript)

    @property
    def tools(self) -> ToolsPane:
        return self._widget(ToolsPane)

    @property
    def agents(self) -> AgentsPane:
        return self._widget(AgentsPane)

    @property
    def status(self) -> StatusBar:
        return self._widget(StatusBar)

    def _widget(self, cls: type[W]) -> W:
        """The one widget of ``cls`` on the main screen (looked up once)."""
        widget = self._widgets.get(cls)
        if widget is None or not widget.is_attached:
            widget = self._widgets[cls] = self.query_one(cls)
        return widget

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    async def on_mount(self) -> None:
        self.banner.display = False
        self.query_one("#log").display = False
        self._layout(self.size.width)
        prompt = self.prompt
        if self.frozen:
            prompt.cursor_blink = False
        if self.backend.is_replay:
            prompt.idle_placeholder = prompt.placeholder = "A recorded session: read only"
        prompt.focus()
        self._starting_notice = self.transcript.add_notice(
            "Starting the agent… (this takes a few seconds)", classes="starting"
        )
        self.boot()

    # -- backend → UI ---------------------------------------------------------------

    @work(group="boot", exclusive=True, exit_on_error=False)
    async def boot(self) -> None:
        """Start (or attach to) the session, then follow its items."""
        self.status.state = "starting"
        try:
            info = await self.backend.start()
        except Exception as e:
            self.status.state = "disconnected"
            self._drop_starting_notice()
            self._show_banner("The agent failed to start", error_message(e), log_tail=False)
            return
        self.started = True
        self.agents.info = info
        self.status.state = "listening"
        self.query_one(AgentLogPane).set_path(self.backend.agent_log_path)
        self._drop_starting_notice()
        self.follow()

    def _drop_starting_notice(self) -> None:
        if self._starting_notice is not None:
            self.transcript.remove_notice(self._starting_notice)
            self._starting_notice = None

    @work(group="follow", exclusive=True, exit_on_error=False)
    async def follow(self) -> None:
        """Read the backend's items and post them in batches: whatever arrived while
        the UI was busy goes in one :class:`ItemsArrived`."""
        queue: asyncio.Queue[it.ChatItem | _End] = asyncio.Queue()

        async def read() -> None:
            try:
                async for item in self.backend.follow():
                    queue.put_nowait(item)
                queue.put_nowait(_End(None))
            except Exception as e:
                queue.put_nowait(_End(error_message(e)))

        reader = asyncio.create_task(read())
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                items = [x for x in batch if isinstance(x, it.ChatItem)]
                if items:
                    self.post_message(ItemsArrived(items))
                if isinstance(batch[-1], _End):
                    self.post_message(StreamEnded(batch[-1].error))
                    return
                await asyncio.sleep(0)
        finally:
            reader.cancel()

    async def on_items_arrived(self, message: ItemsArrived) -> None:
        # One frame shows the whole batch: without this, a frame drawn while the
        # panes change may come before the transcript's new lines.
        self.gc_policy.activity()
        with self.batch_update():
            await self._show_items(message)
        self.screen.check_idle()  # the screen skipped its refresh during the batch

    async def _show_items(self, message: ItemsArrived) -> None:
        if self.items_seen == 0 and message.items:
            self.agents.set_origin(message.items[0].ts)
        self.items_seen += len(message.items)
        for item in message.items:
            self.route(item)
        status = self.status
        for name, value in self._status_updates.items():
            setattr(status, name, value)
        self._status_updates.clear()
        self.tools.flush()
        self.transcript.flush()
        if self._info_stale:
            self._info_stale = False
            self.refresh_agent_info()
        if self._check_agent:
            self._check_agent = False
            self.check_agent()
        self._update_busy()
        await self._replay_progress()
        if self.freeze_gc and not self.loaded.is_set():
            gc.freeze()
            self.gc_policy.start(self)
        self.loaded.set()
        self.updated.set()

    def route(self, item: it.ChatItem) -> None:
        """The one dispatch over chat items: the view folds each into a block (its
        text escaped), the transcript shows the block (drawn by
        ``transcript.flush()``), and the side panes and status
        bar take what concerns them."""
        update = self.view.feed(item)
        if update is not None:
            block = update.block
            self.transcript.show(block)
            if block.kind == "tool":
                self.tools.upsert(block)
            elif block.kind == "agent":
                self.last_reply = block.body
            elif block.kind == "ended":
                self.call_ended = True
        match item:
            case it.Handoff(from_agent=frm):
                self.agents.add_handoff(escape_fields(item))
                self._info_stale = self._info_stale or frm is not None
            case it.AgentError(background=None | False):
                self._check_agent = True
            case it.TurnFinished(status="ok", turn_id=str()):
                turns = self.view.turns
                self._status_updates["latency_ms"] = turns.latency_ms
                self._status_updates["turn_metrics"] = turns.metrics
            case it.AgentState(new_state=state):
                self._status_updates["state"] = state
            case it.Usage():
                self._status_updates["tokens"] = self.view.turns.tokens.session
                self._status_updates["agent_tokens"] = self.view.turns.tokens.current
            case it.ConfigUpdate():
                self._info_stale = True
            case it.Reload(error=error, files=files):
                self._info_stale = self._info_stale or error is None
                if self.loaded.is_set():  # live, not the backlog of an attach
                    what = escape_controls(", ".join(files) or "sources")
                    if error is None:
                        self.notify(f"Agent reloaded ({what})", markup=False)
                    else:
                        self.notify(
                            f"Reload failed ({what}): the previous agent keeps running",
                            severity="error",
                            markup=False,
                        )

    async def on_stream_ended(self, message: StreamEnded) -> None:
        self.stream_ended = True
        if self.quitting:
            return
        self.status.state = "disconnected"
        detail = message.error or "The daemon stopped (`parley stop`, or it was killed)."
        self._show_banner(
            "The session ended",
            detail,
            keys="Quit (Ctrl+Q) and run `parley chat` again to start a new session.",
        )

    @work(group="info", exclusive=True, exit_on_error=False)
    async def refresh_agent_info(self) -> None:
        with contextlib.suppress(Exception):
            self.agents.info = await self.backend.agent_info()

    @work(group="check", exclusive=True, exit_on_error=False)
    async def check_agent(self) -> None:
        """After an agent error: if the agent is gone, say so with the log's tail."""
        if await self.backend.agent_alive():
            return
        if self.call_ended:
            self.status.state = "call ended"
            self._show_banner("The agent ended the call", "", ENDED_KEYS, log_tail=False,
                              ended=True)  # fmt: skip
            return
        self.status.state = "disconnected"
        errors = [i for i in self.transcript.items if isinstance(i, it.AgentError)]
        detail = readable_error(errors[-1].message) if errors else "The agent disconnected."
        self._show_banner("The agent stopped", detail)

    def _show_banner(self, title: str, detail: str, keys: str = CRASH_KEYS, *,
                     log_tail: bool = True, ended: bool = False) -> None:  # fmt: skip
        """Show the banner; with ``log_tail``, once the agent log's tail has been read
        (in a thread: no file I/O on the UI loop). A later banner replaces one still
        reading; :meth:`_hide_banner` cancels it."""
        path = self.backend.agent_log_path if log_tail else None
        self._banner_worker(title, detail, keys, path, ended)

    @work(group="banner", exclusive=True, exit_on_error=False)
    async def _banner_worker(
        self, title: str, detail: str, keys: str, path: Path | None, ended: bool
    ) -> None:
        if path is not None:
            lines = await in_thread(tail, path, 12)
            if lines:
                detail = f"{detail}\n\nLast lines of the agent log (F4 shows it live):\n{lines}"
        self.banner.set_class(ended, "-ended")
        self.banner.show(title, detail, keys)
        self.refresh_bindings()

    def notify_error(self, what: str, error: BaseException | None) -> None:
        """The one place an error becomes a notification: ``what`` went wrong, then the
        error's message (:func:`parley.app.errors.error_message`), control characters
        escaped, never markup."""
        reason = error_message(error) if error is not None else "unknown error"
        message = escape_controls(f"{what}: {reason}")
        self.notify(message, severity="error", timeout=10, markup=False)

    def _hide_banner(self) -> None:
        self.workers.cancel_group(self, "banner")
        self.banner.hide()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly: say so, keep the app running."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify_error(f"{event.worker.name} failed", error)

    # -- UI → backend ---------------------------------------------------------------

    def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        if self.backend.is_replay:
            self.notify("This is a recorded session: it cannot take new turns.",
                        severity="warning", markup=False)  # fmt: skip
            return
        self.send(message.text)

    @work(group="say", exit_on_error=False)
    async def send(self, text: str) -> None:
        """Queue ``text`` as a turn (turns sent in a row keep their order)."""
        async with self._say_lock:
            waiting: Notice | None = None
            if not self.started:
                waiting = self.transcript.add_notice(
                    f"You (queued: sent when the agent is up)\n{clean_text(text)}",
                    classes="queued",
                )
                with contextlib.suppress(Exception):
                    await self.backend.start()
            try:
                turn_id = await self.backend.say(text)
            except Exception as e:
                if waiting is not None:
                    self.transcript.remove_notice(waiting)
                self.transcript.add_notice(
                    f"✗ Not sent: {readable_error(error_message(e))}\nCtrl+R restarts the agent; "
                    "your text is back in the input box.",
                    classes="error",
                )
                self.prompt.restore(text)
                return
            if waiting is not None:
                self.transcript.remove_notice(waiting)  # the user message follows
            if not self.view.turns.is_finished(turn_id):
                self._own_turns[turn_id] = text
            self._update_busy()

    def _update_busy(self) -> None:
        for turn_id in [t for t in self._own_turns if self.view.turns.is_finished(t)]:
            del self._own_turns[turn_id]
        self.busy = bool(self._own_turns)
        self.status.queued = max(0, len(self._own_turns) - 1)

    def watch_busy(self, busy: bool) -> None:
        self.prompt.set_busy(busy)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restart_agent":
            return not self.backend.is_replay
        if action == "cancel_turn":
            if self.overlay is not None:
                return True
            if self.backend.is_replay:
                return False
            return True if self.busy or self.view.turns.open else None
        return True

    def action_cancel_turn(self) -> None:
        """Esc: close the pane open over the transcript (narrow screen), else cancel
        the running turn and the queued ones, this app's or another client's (a
        `parley say` on the same session)."""
        if self.overlay is not None:
            self.action_toggle_pane(self.overlay)
        elif self.busy or self.view.turns.open:
            self.cancel_turn()

    @work(group="cancel", exclusive=True, exit_on_error=False)
    async def cancel_turn(self) -> None:
        texts = list(self._own_turns.values())
        try:
            await self.backend.cancel()
        except BackendError as e:
            self.notify_error("Could not cancel", e)
            return
        if texts:  # every cancelled text, one per line, in the order sent
            self.prompt.restore("\n".join(texts))

    def action_restart_agent(self) -> None:
        if self.backend.is_replay:
            return
        if not self.started:
            self._hide_banner()
            self.boot()
        else:
            self.restart_agent()

    @work(group="restart", exclusive=True, exit_on_error=False)
    async def restart_agent(self) -> None:
        self.status.state = "restarting"
        self.transcript.add_notice("Restarting the agent…")
        try:
            info = await self.backend.restart()
        except Exception as e:
            self.status.state = "disconnected"
            self._show_banner("The agent could not restart", error_message(e))
            return
        self._hide_banner()
        self.call_ended = False
        self.agents.info = info
        self.status.state = "listening"
        self.transcript.add_notice(f"The agent restarted ({info.get('id', '?')}).")
        self.refresh_bindings()

    async def action_quit(self) -> None:
        if self.quitting:  # a second Ctrl+C / Ctrl+Q: leave now (the CLI still stops
            self.exit()  # the agent it started)
            return
        self.quitting = True
        self.updated.set()
        self.status.state = "stopping"
        self.shutdown()

    def on_unmount(self) -> None:
        self.gc_policy.stop()  # the process's collector thresholds as they were

    @work(group="shutdown", exclusive=True, exit_on_error=False)
    async def shutdown(self) -> None:
        self.workers.cancel_group(self, "follow")
        with contextlib.suppress(Exception):
            await self.backend.close()
        self.exit()

    # -- panes, commands ------------------------------------------------------------


def make_app(
    backend: ChatBackend,
    *,
    title: str | None = None,
    frozen: bool = False,
    export_dir: Path | None = None,
    freeze_gc: bool = False,
) -> ParleyApp:
    """The one factory of the chat app (the CLI and the tests both use it).

    ``freeze_gc`` (the CLI sets it): once the session's first items are on screen,
    :func:`gc.freeze` moves every object alive then out of the collector's reach, so
    later collections do not walk the thousands of items, blocks and cached lines of a
    long session (they were 60-90 ms pauses, one every ~9 appended items; see
    ``bench/bench_tui.py``). Cached lines dropped later that were alive then are never
    collected: at most one cache's worth. From then on the full collections run
    when the session is quiet (:class:`parley.widgets.gc_policy.QuietCollector`)."""
    return ParleyApp(
        backend, title=title, frozen=frozen, export_dir=export_dir, freeze_gc=freeze_gc
    )
