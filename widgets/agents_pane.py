"""The agents pane: the current agent (id, tools, first lines of its instructions,
from ``get_agent_info``) and the handoff timeline (from → to, when)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo
from parley.widgets.rows import clean_text

INSTRUCTION_LINES = 3


def first_lines(text: str, n: int = INSTRUCTION_LINES, width: int = 200) -> str:
    """The first ``n`` non-empty lines of ``text``, ``…`` marking a cut."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    out = [ln if len(ln) <= width else ln[: width - 1] + "…" for ln in lines[:n]]
    if len(lines) > n:
        out[-1] += " …"
    return "\n".join(out)


def clock(seconds: float) -> str:
    """``+M:SS`` since the session's first item (deterministic, no time zone)."""
    s = max(0, int(seconds))
    return f"+{s // 60}:{s % 60:02d}"


def agent_card(info: AgentInfo) -> Content:
    """The agent's id (its tools are :func:`agent_tools`, shown beside a label so
    they wrap under themselves, then :func:`agent_instructions`)."""
    return Content.styled(clean_text(info["id"] or "?"), "bold $text-success")


def agent_instructions(info: AgentInfo) -> Content:
    """The first lines of the agent's instructions."""
    return Content.styled(first_lines(clean_text(info["instructions"])), "italic")


def agent_tools(info: AgentInfo) -> Content:
    return Content(clean_text(", ".join(info["tools"])) or "(none)")


class AgentsPane(VerticalScroll):
    """``info`` is the current agent's info (an empty ``id`` until it is known);
    :meth:`add_handoff` extends the timeline."""

    info: reactive[AgentInfo] = reactive(
        lambda: AgentInfo(id="", instructions="", tools=[]), always_update=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handoffs: list[it.Handoff] = []
        self.t0: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("starting…", "italic"), id="agent-card")
        with Horizontal(id="agent-tools-line"):
            yield Static(Content.styled("tools", "$text-muted"), id="agent-tools-label")
            yield Static("", id="agent-tools")
        yield Static("", id="agent-instructions")
        yield Static("", id="handoffs")

    def on_mount(self) -> None:
        self.border_title = "Agents"

    def watch_info(self, info: AgentInfo) -> None:
        if info["id"] and self.is_mounted:
            self.query_one("#agent-card", Static).update(agent_card(info))
            self.query_one("#agent-tools", Static).update(agent_tools(info))
            self.query_one("#agent-instructions", Static).update(agent_instructions(info))

    def set_origin(self, ts: float) -> None:
        """The timestamp that handoff times are counted from."""
        if self.t0 is None:
            self.t0 = ts

    def add_handoff(self, handoff: it.Handoff) -> None:
        self.handoffs.append(handoff)
        self._render_timeline()

    def _render_timeline(self) -> None:
        t0 = self.t0 if self.t0 is not None else 0.0
        parts: list[Any] = [Content.styled("Handoffs", "bold underline")]
        for h in self.handoffs[-50:]:
            when = clock(h.ts - t0) if h.ts else ""
            parts += ["\n", Content.styled(f"{when:>6} ", "$text-muted")]
            if h.from_agent is None:
                parts += [Content("start → "), Content.styled(clean_text(h.to_agent), "bold")]
            else:
                parts += [
                    Content(clean_text(h.from_agent)),
                    " → ",
                    Content.styled(clean_text(h.to_agent), "bold"),
                ]
        self.query_one("#handoffs", Static).update(Content.assemble(*parts))

    def clear(self) -> None:
        """Forget the handoff timeline (clear view); the current agent stays."""
        self.handoffs.clear()
        self.query_one("#handoffs", Static).update("")
