"""Modal screens: the current agent's full info."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from parley.app.protocol.shapes import AgentInfo


class AgentInfoScreen(ModalScreen[None]):
    """Id, tools and the whole instructions of the current agent; Esc closes."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="close_info")]

    def __init__(self, info: AgentInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        info = self.info
        body = Content.assemble(
            Content.styled(info["id"] or "?", "bold $text-success"),
            "\n\n",
            ("Tools", "bold underline"),
            "\n",
            Content("\n".join(info["tools"]) or "(none)"),
            "\n\n",
            ("Instructions", "bold underline"),
            "\n",
            Content((info["instructions"] or "(none)").strip()),
            "\n\n",
            Content.styled("Esc closes", "italic $text-muted"),
        )
        with VerticalScroll(id="info-box"):
            yield Static(body)
