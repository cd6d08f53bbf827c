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
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from parley.app.backend import BackendError, ChatBackend
from parley.app.daemon.state import tail
from parley.app.protocol import items as it
from parley.app.session.eventlog import Recording
from parley.headless.export import items_json, to_markdown
from parley.widgets.agents_pane import AgentsPane
from parley.widgets.banner import Banner
from parley.widgets.log_pane import AgentLogPane
from parley.widgets.prompt import PromptInput
from parley.widgets.rows import (
    AgentRow,
    ErrorRow,
    HandoffRow,
    NoticeRow,
    ToolRow,
    TurnEndRow,
    UserRow,
)
from parley.widgets.screens import AgentInfoScreen
from parley.widgets.status_bar import StatusBar, usage_tokens
from parley.widgets.tools_pane import ToolsPane
from parley.widgets.transcript import Transcript

CRASH_KEYS = "Ctrl+R restarts the agent in this session · F4 shows the agent log · Ctrl+Q quits"


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


class ParleyApp(App[None]):
    """See the module docstring. ``frozen`` stops spinners and the cursor blink
    (snapshot tests); exports and screenshots go to ``export_dir``."""

    CSS_PATH = "parley.tcss"
    TITLE = "parley"

    BINDINGS = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="quit",
            priority=True,
            tooltip="Quit; stops the agent if this window started it.",
        ),
        Binding("ctrl+c", "quit", "Quit", id="quit_ctrl_c", priority=True, show=False),
        Binding(
            "escape",
            "cancel_turn",
            "Cancel turn",
            id="cancel_turn",
            tooltip="Cancel the running and queued turns and put your message back.",
        ),
        Binding("f2", "toggle_pane('tools')", "Tools", id="toggle_tools",
                tooltip="Show or hide the tool calls pane."),
        Binding("f3", "toggle_pane('agents')", "Agents", id="toggle_agents",
                tooltip="Show or hide the agents pane."),
        Binding("f4", "toggle_pane('log')", "Agent log", id="toggle_log",
                tooltip="Show or hide the agent's log."),
        Binding("ctrl+r", "restart_agent", "Restart agent", id="restart_agent",
                tooltip="Restart the agent in this session (after a crash, or any time)."),
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
    ) -> None:
        super().__init__()
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
        self._own_turns: dict[str, str] = {}  # running/queued turns this window sent
        self._finished: set[str] = set()
        self._open_turns: set[str] = set()  # turns of the session not yet finished
        self._say_lock = asyncio.Lock()
        self._starting_notice: NoticeRow | None = None
        # set while routing a batch, applied once after it
        self._info_stale = False
        self._check_agent = False
        self._status_updates: dict[str, Any] = {}

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
        return self.query_one(Transcript)

    @property
    def tools(self) -> ToolsPane:
        return self.query_one(ToolsPane)

    @property
    def agents(self) -> AgentsPane:
        return self.query_one(AgentsPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    async def on_mount(self) -> None:
        self.banner.display = False
        self.query_one("#log").display = False
        prompt = self.prompt
        if self.frozen:
            prompt.cursor_blink = False
        if self.backend.is_replay:
            prompt.idle_placeholder = prompt.placeholder = "A recorded session: read only"
        prompt.focus()
        self._starting_notice = await self.transcript.add_notice(
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
            await self._drop_starting_notice()
            self._show_banner("The agent failed to start", _message(e), log_tail=False)
            return
        self.started = True
        self.agents.info = info
        self.status.state = "listening"
        self.query_one(AgentLogPane).set_path(self.backend.agent_log_path)
        await self._drop_starting_notice()
        self.follow()

    async def _drop_starting_notice(self) -> None:
        if self._starting_notice is not None:
            await self._starting_notice.remove()
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
                queue.put_nowait(_End(_message(e)))

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
        await self.transcript.flush()
        if self._info_stale:
            self._info_stale = False
            self.refresh_agent_info()
        if self._check_agent:
            self._check_agent = False
            self.check_agent()
        self._update_busy()
        self.loaded.set()

    def route(self, item: it.ChatItem) -> None:
        """The one dispatch over chat item types: each kind to the widget(s) that
        show it (transcript rows are mounted by ``transcript.flush()``)."""
        match item:
            case it.UserMessage():
                self.transcript.add(item, UserRow)
                if item.turn_id and item.turn_id not in self._finished:
                    self._open_turns.add(item.turn_id)  # whoever sent it
            case it.AgentMessage(text=text):
                if text.strip():
                    self.transcript.add(item, AgentRow)
                    self.last_reply = text
            case it.ToolCall():
                self.transcript.update_tool(item, ToolRow)
                self.tools.upsert(item)
            case it.Handoff(from_agent=frm):
                self.transcript.add(item, HandoffRow)
                self.agents.add_handoff(item)
                self._info_stale = self._info_stale or frm is not None
            case it.AgentError(background=True):
                pass  # recorded (JSON, status), never shown in a turn
            case it.AgentError():
                self.transcript.add(item, ErrorRow)
                self._check_agent = True
            case it.TurnFinished(status=status):
                if status != "ok":
                    self.transcript.add(item, TurnEndRow)
                elif item.duration_ms is not None:
                    self._status_updates["latency_ms"] = item.duration_ms
                if item.turn_id:
                    self._finished.add(item.turn_id)
                    self._own_turns.pop(item.turn_id, None)
                    self._open_turns.discard(item.turn_id)
            case it.AgentState(new_state=state):
                self._status_updates["state"] = state
            case it.Usage():
                self._status_updates["tokens"] = usage_tokens(item)
            case it.ConfigUpdate():
                self._info_stale = True

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
        self.status.state = "disconnected"
        errors = [e.item for e in self.transcript.entries if isinstance(e.item, it.AgentError)]
        detail = errors[-1].message if errors else "The agent disconnected."
        self._show_banner("The agent stopped", detail)

    def _show_banner(self, title: str, detail: str, keys: str = CRASH_KEYS, *,
                     log_tail: bool = True) -> None:  # fmt: skip
        path = self.backend.agent_log_path
        if log_tail and path is not None:
            lines = tail(path, 12)
            if lines:
                detail = f"{detail}\n\nLast lines of the agent log (F4 shows it live):\n{lines}"
        self.banner.show(title, detail, keys)
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly: say so, keep the app running."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.name} failed: {_message(error) if error else 'unknown error'}",
                severity="error",
                timeout=10,
                markup=False,
            )

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
            if not self.started:
                with contextlib.suppress(Exception):
                    await self.backend.start()
            try:
                turn_id = await self.backend.say(text)
            except Exception as e:
                await self.transcript.add_notice(
                    f"✗ Not sent: {_message(e)}\nCtrl+R restarts the agent; your text is "
                    "back in the input box.",
                    classes="error",
                )
                self.prompt.restore(text)
                return
            if turn_id not in self._finished:
                self._own_turns[turn_id] = text
            self._update_busy()

    def _update_busy(self) -> None:
        self.busy = bool(self._own_turns)
        self.status.queued = max(0, len(self._own_turns) - 1)

    def watch_busy(self, busy: bool) -> None:
        self.prompt.set_busy(busy)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restart_agent":
            return not self.backend.is_replay
        if action == "cancel_turn":
            return True if self.busy or self._open_turns else None
        return True

    def action_cancel_turn(self) -> None:
        """Esc: cancel the running turn and the queued ones, this app's or another
        client's (a `parley say` on the same session)."""
        if self.busy or self._open_turns:
            self.cancel_turn()

    @work(group="cancel", exclusive=True, exit_on_error=False)
    async def cancel_turn(self) -> None:
        texts = list(self._own_turns.values())
        try:
            await self.backend.cancel()
        except BackendError as e:
            self.notify(f"Could not cancel: {e}", severity="error", markup=False)
            return
        if texts:
            self.prompt.restore(texts[0])

    def action_restart_agent(self) -> None:
        if self.backend.is_replay:
            return
        if not self.started:
            self.banner.hide()
            self.boot()
        else:
            self.restart_agent()

    @work(group="restart", exclusive=True, exit_on_error=False)
    async def restart_agent(self) -> None:
        self.status.state = "restarting"
        await self.transcript.add_notice("Restarting the agent…")
        try:
            info = await self.backend.restart()
        except Exception as e:
            self.status.state = "disconnected"
            self._show_banner("The agent could not restart", _message(e))
            return
        self.banner.hide()
        self.agents.info = info
        self.status.state = "listening"
        await self.transcript.add_notice(f"The agent restarted ({info.get('id', '?')}).")
        self.refresh_bindings()

    async def action_quit(self) -> None:
        if self.quitting:  # a second Ctrl+C / Ctrl+Q: leave now (the CLI still stops
            self.exit()  # the agent it started)
            return
        self.quitting = True
        self.status.state = "stopping"
        self.shutdown()

    @work(group="shutdown", exclusive=True, exit_on_error=False)
    async def shutdown(self) -> None:
        self.workers.cancel_group(self, "follow")
        with contextlib.suppress(Exception):
            await self.backend.close()
        self.exit()

    # -- panes, commands ------------------------------------------------------------

    def action_toggle_pane(self, name: str) -> None:
        pane = self.query_one(f"#{name}")
        pane.display = not pane.display
        side = self.query_one("#side")
        side.display = self.tools.display or self.agents.display

    def on_tool_row_selected(self, message: ToolRow.Selected) -> None:
        if not self.tools.display:
            self.action_toggle_pane("tools")
        self.tools.select(message.call_id)

    async def action_clear_view(self) -> None:
        """Clear what shows the session's history: the transcript, the tool calls
        and the handoff timeline (the current agent stays; the session keeps its
        items)."""
        await self.transcript.clear()
        self.tools.clear()
        self.agents.clear()

    def action_copy_last_reply(self) -> None:
        if self.last_reply is None:
            self.notify("No reply to copy yet.", severity="warning", markup=False)
            return
        self.copy_to_clipboard(self.last_reply)
        self.notify("Copied the last reply to the clipboard.", markup=False)

    def action_export(self, fmt: str) -> None:
        """Write what the transcript shows: Markdown as ``parley export --format md``
        renders it, or a JSON array of the items."""
        items = [e.item for e in self.transcript.entries]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.export_dir / f"parley-transcript-{stamp}.{'md' if fmt == 'md' else 'json'}"
        if fmt == "md":
            text = to_markdown(Recording(self.backend.header, items))
        else:
            text = items_json(items)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            self.notify(f"Could not write {path}: {e}", severity="error", markup=False)
            return
        self.notify(f"Exported the transcript to {path}", markup=False)

    def action_save_svg(self) -> None:
        try:
            path = self.save_screenshot(path=str(self.export_dir))
        except OSError as e:
            self.notify(
                f"Could not save a screenshot to {self.export_dir}: {e}",
                severity="error",
                markup=False,
            )
            return
        self.notify(f"Saved a screenshot to {path}", markup=False)

    def action_show_agent_info(self) -> None:
        self.push_screen(AgentInfoScreen(self.agents.info))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        cmds = [
            ("Clear view", "Clear the transcript, tool calls and handoffs (the session keeps them)",
             self.action_clear_view),
            ("Copy last reply", "Copy the agent's last reply to the clipboard",
             self.action_copy_last_reply),
            ("Export transcript (Markdown)", f"Write the transcript to {self.export_dir}",
             lambda: self.action_export("md")),
            ("Export transcript (JSON)", f"Write the transcript's items to {self.export_dir}",
             lambda: self.action_export("json")),
            ("Save SVG screenshot", f"Save an SVG of this screen to {self.export_dir}",
             self.action_save_svg),
            ("Show agent info", "The current agent's id, tools and instructions",
             self.action_show_agent_info),
            ("Toggle tool calls pane", "F2", lambda: self.action_toggle_pane("tools")),
            ("Toggle agents pane", "F3", lambda: self.action_toggle_pane("agents")),
            ("Toggle agent log", "F4", lambda: self.action_toggle_pane("log")),
        ]  # fmt: skip
        if not self.backend.is_replay:
            cmds.append(("Restart agent", "Ctrl+R", self.action_restart_agent))
        for title, help_text, callback in cmds:
            yield SystemCommand(title, help_text, callback)


def _message(e: BaseException) -> str:
    return str(e) if isinstance(e, BackendError) else f"{type(e).__name__}: {e}"


def make_app(
    backend: ChatBackend,
    *,
    title: str | None = None,
    frozen: bool = False,
    export_dir: Path | None = None,
) -> ParleyApp:
    """The one factory of the chat app (the CLI and the tests both use it)."""
    return ParleyApp(backend, title=title, frozen=frozen, export_dir=export_dir)
