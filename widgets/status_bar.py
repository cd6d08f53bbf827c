"""The status bar: agent state with a spinner while it thinks, the last turn's
latency, queued turns, and the session's token usage.

The spinner is a two-cell widget of its own, advanced by a timer only while it
spins, so it never triggers a layout refresh; ``frozen`` stops it (snapshots)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from parley.app.protocol import items as it
from parley.widgets.rows import format_ms

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNING = frozenset({"starting", "thinking", "restarting", "stopping"})
STATE_LABEL = {
    "starting": "starting agent…",
    "restarting": "restarting agent…",
    "stopping": "stopping agent…",
}


def usage_tokens(usage: it.Usage) -> tuple[int, int]:
    """``(input, output)`` LLM tokens of the session."""
    return usage.input_tokens, usage.output_tokens


class Spinner(Static):
    DEFAULT_CSS = "Spinner { width: 2; }"

    spinning: reactive[bool] = reactive(False)

    def __init__(self, frozen: bool = False, **kwargs: Any) -> None:
        super().__init__(" ", **kwargs)
        self.frozen = frozen
        self._frame = 0
        self._timer: Any = None

    def watch_spinning(self, spinning: bool) -> None:
        self.update(FRAMES[0] if spinning else " ")
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if spinning and not self.frozen:
            self._timer = self.set_interval(0.1, self._tick)

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(FRAMES)
        self.update(FRAMES[self._frame])


class StatusBar(Horizontal):
    """``state`` is the agent state (livekit-agents' ``agent_state_changed`` values,
    or parley's own: starting, restarting, stopping, disconnected)."""

    state: reactive[str] = reactive("starting")
    latency_ms: reactive[float | None] = reactive(None)
    queued: reactive[int] = reactive(0)
    tokens: reactive[tuple[int, int]] = reactive((0, 0))

    def __init__(self, frozen: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frozen = frozen

    def compose(self) -> ComposeResult:
        yield Spinner(self.frozen, id="spinner")
        yield Static(id="state")
        yield Static(id="latency")
        yield Static(id="queued")
        yield Static(id="tokens")

    def on_mount(self) -> None:
        self.watch_state(self.state)

    def watch_state(self, state: str) -> None:
        if not self.is_mounted:
            return
        self.query_one(Spinner).spinning = state in SPINNING
        label = STATE_LABEL.get(state, state)
        self.query_one("#state", Static).update(Content(label))
        for s in ("listening", "thinking", "speaking", "disconnected", "initializing"):
            self.set_class(state == s, f"-{s}")

    def watch_latency_ms(self, ms: float | None) -> None:
        text = f"last turn {format_ms(ms)}" if ms is not None else ""
        self.query_one("#latency", Static).update(text)

    def watch_queued(self, n: int) -> None:
        self.query_one("#queued", Static).update(f"{n} queued" if n else "")

    def watch_tokens(self, tokens: tuple[int, int]) -> None:
        tin, tout = tokens
        text = f"tokens {tin + tout:,} (in {tin:,} · out {tout:,})" if tin or tout else ""
        self.query_one("#tokens", Static).update(text)
