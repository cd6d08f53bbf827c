"""What the chat app's mixins take ``self`` for: :class:`ChatAppHost`.

:class:`parley.widgets.app.ParleyApp` is made of :class:`parley.widgets.commands.CommandsMixin`
(palette commands), :class:`parley.widgets.panes.PanesMixin` (side panes) and
:class:`parley.widgets.replay.ReplayMixin` (replay progress). Their methods annotate
``self`` with this protocol (mypy's self-type for mixins): the parts of the Textual
``App`` and of ``ParleyApp`` they use, and the mixins' own methods they call on each
other. ``tests/test_unit_shapes.py`` makes mypy prove that ``ParleyApp`` is such a host.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, overload

from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer, TimerCallback
from textual.widget import Widget

if TYPE_CHECKING:
    from parley.app.backend import ChatBackend
    from parley.widgets.agents_pane import AgentsPane
    from parley.widgets.prompt import PromptInput
    from parley.widgets.status_bar import StatusBar
    from parley.widgets.tools_pane import ToolsPane
    from parley.widgets.transcript import Transcript

W = TypeVar("W", bound=Widget)


class ChatAppHost(Protocol):
    """The chat app as its mixins see it (see the module docstring)."""

    # -- ParleyApp's state -------------------------------------------------------------

    #: the session the app shows
    backend: ChatBackend
    #: where exports and screenshots go
    export_dir: Path
    #: the agent's last reply, for "Copy last reply"
    last_reply: str | None
    #: items shown so far
    items_seen: int
    #: the end-of-recording marker was shown (replay)
    replay_finished: bool
    #: wide terminal: which side panes are shown (``"tools"``, ``"agents"``)
    panes: dict[str, bool]
    #: narrow terminal: the pane open over the transcript
    overlay: str | None

    @property
    def transcript(self) -> Transcript: ...
    @property
    def tools(self) -> ToolsPane: ...
    @property
    def agents(self) -> AgentsPane: ...
    @property
    def status(self) -> StatusBar: ...
    @property
    def prompt(self) -> PromptInput: ...
    def notify_error(self, what: str, error: BaseException | None) -> None: ...
    def action_restart_agent(self) -> None: ...

    # -- the mixins' own, called on each other ------------------------------------------

    @property
    def narrow(self) -> bool: ...
    def action_toggle_pane(self, name: str) -> None: ...
    def _apply_panes(self) -> None: ...
    def _layout(self, width: int) -> None: ...
    async def action_clear_view(self) -> None: ...
    def action_copy_last_reply(self) -> None: ...
    async def action_export(self, fmt: str) -> Path | None: ...
    def action_save_svg(self) -> None: ...
    async def save_svg_now(self) -> Path | None: ...
    def action_show_agent_info(self) -> None: ...
    async def action_rerun_conversation(self) -> None: ...
    def _out_name(self, suffix: str) -> str: ...

    # -- Textual's App -------------------------------------------------------------------

    @property
    def screen(self) -> Screen[object]: ...
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...
    def copy_to_clipboard(self, text: str) -> None: ...
    def set_timer(
        self,
        delay: float,
        callback: TimerCallback | None = None,
        *,
        name: str | None = None,
        pause: bool = False,
    ) -> Timer: ...
    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str: ...
    def push_screen(self, screen: Screen[None]) -> object: ...
    def refresh_bindings(self) -> None: ...
    @overload
    def query_one(self, selector: str) -> Widget: ...
    @overload
    def query_one(self, selector: type[W]) -> W: ...
