"""Where the side panes go: beside the transcript in a wide terminal, over it in a
narrow one (below :data:`NARROW` columns the screen has the ``-narrow`` class; F2/F3
open the tool calls or agents pane over the transcript and Esc closes it). Mixed
into :class:`parley.widgets.app.ParleyApp`; ``self`` is that app, whose ``panes``
(wide: which are shown) and ``overlay`` (narrow: which is open) it keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.widgets import Footer

from parley.widgets.transcript import Transcript

if TYPE_CHECKING:
    from parley.widgets.host import ChatAppHost

#: below this terminal width the side panes hide and open over the transcript
NARROW = 100


class PanesMixin:
    def action_toggle_pane(self: ChatAppHost, name: str) -> None:
        if name == "log":
            log = self.query_one("#log")
            log.display = not log.display
            return
        if self.narrow:
            self.overlay = None if self.overlay == name else name
        else:
            self.panes[name] = not self.panes[name]
        self._apply_panes()
        if self.overlay == "tools":
            self.query_one("#tool-list").focus()
        elif self.overlay == "agents":
            self.agents.focus()
        elif self.narrow:
            self.prompt.focus()
        self.refresh_bindings()

    @property
    def narrow(self: ChatAppHost) -> bool:
        return self.screen.has_class("-narrow")

    def on_resize(self: ChatAppHost, event: events.Resize) -> None:
        self._layout(event.size.width)

    def _layout(self: ChatAppHost, width: int) -> None:
        """The layout for a terminal ``width`` columns wide (see :data:`NARROW`)."""
        narrow = width < NARROW
        if narrow != self.narrow:
            self.screen.set_class(narrow, "-narrow")
            self.overlay = None
            self.query_one(Footer).compact = narrow
            self.status.compact = narrow
        self._apply_panes()

    def _apply_panes(self: ChatAppHost) -> None:
        if self.narrow:
            shown = {name: self.overlay == name for name in self.panes}
        else:
            shown = dict(self.panes)
        self.tools.display = shown["tools"]
        self.agents.display = shown["agents"]
        self.query_one("#side").display = any(shown.values())
        self.transcript.display = self.overlay is None or not self.narrow

    def on_transcript_tool_selected(self: ChatAppHost, message: Transcript.ToolSelected) -> None:
        if self.narrow:
            if self.overlay != "tools":
                self.action_toggle_pane("tools")
        elif not self.panes["tools"]:
            self.action_toggle_pane("tools")
        self.tools.select(message.call_id)
