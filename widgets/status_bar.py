"""The status bar: agent state with a spinner while it thinks, the last turn's
latency and metrics (time to first token, tool durations), queued turns, replay
progress, and the session's token usage (all from the view's
:class:`parley.app.view.Turns`).

The spinner is a two-cell widget of its own, advanced by a timer only while it
spins, so it never triggers a layout refresh; ``frozen`` stops it (snapshots). The
middle part takes the room left and ends in ``…`` when it does not fit, so a
narrow terminal never runs the parts together."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from parley.app.view import format_ms

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNING = frozenset({"starting", "thinking", "restarting", "stopping"})
STATE_LABEL = {
    "starting": "starting agent…",
    "restarting": "restarting agent…",
    "stopping": "stopping agent…",
}
STATE_CLASSES = ("listening", "thinking", "speaking", "disconnected", "initializing")


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


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 60}:{s % 60:02d}"


class StatusBar(Horizontal):
    """``state`` is the agent state (livekit-agents' ``agent_state_changed`` values,
    or parley's own: starting, restarting, stopping, disconnected, call ended, replay
    finished). ``tokens`` is the session's ``(input, output)``; ``agent_tokens`` the
    current agent process's share (``compact``: the total only, for a narrow
    terminal). ``replay`` is ``(items shown, items, seconds recorded up to the last
    item shown, seconds recorded in all)`` during a replay."""

    state: reactive[str] = reactive("starting")
    latency_ms: reactive[float | None] = reactive(None)
    turn_metrics: reactive[str] = reactive("")
    queued: reactive[int] = reactive(0)
    tokens: reactive[tuple[int, int]] = reactive((0, 0))
    agent_tokens: reactive[tuple[int, int]] = reactive((0, 0))
    replay: reactive[tuple[int, int, float, float] | None] = reactive(None)
    compact: reactive[bool] = reactive(False)

    def __init__(self, frozen: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frozen = frozen

    def compose(self) -> ComposeResult:
        yield Spinner(self.frozen, id="spinner")
        yield Static(id="state")
        yield Static(id="info")
        yield Static(id="tokens")

    def on_mount(self) -> None:
        self.watch_state(self.state)
        self._info()

    def watch_state(self, state: str) -> None:
        if not self.is_mounted:
            return
        self.query_one(Spinner).spinning = state in SPINNING
        label = STATE_LABEL.get(state, state)
        self.query_one("#state", Static).update(Content(label))
        for s in STATE_CLASSES:
            self.set_class(state == s, f"-{s}")

    def _info(self) -> None:
        if not self.is_mounted:
            return
        parts = []
        if self.replay is not None:
            shown, total, at, length = self.replay
            parts.append(f"{shown}/{total} items · {_clock(at)} / {_clock(length)}")
        if self.latency_ms is not None:
            parts.append(f"last turn {format_ms(self.latency_ms)}")
        if self.turn_metrics:
            parts.append(self.turn_metrics)
        if self.queued:
            parts.append(f"{self.queued} queued")
        self.query_one("#info", Static).update(Content("  ·  ".join(parts)))

    watch_latency_ms = watch_turn_metrics = watch_queued = watch_replay = _info

    def _tokens(self) -> None:
        if not self.is_mounted:
            return
        tin, tout = self.tokens
        total = tin + tout
        agent = sum(self.agent_tokens)
        if not total:
            text = ""
        elif self.compact:
            text = f"{total:,} tokens"
        elif agent != total:
            text = f"tokens {total:,} (this agent {agent:,})"
        else:
            text = f"tokens {total:,} (in {tin:,} · out {tout:,})"
        self.query_one("#tokens", Static).update(text)

    watch_tokens = watch_agent_tokens = watch_compact = _tokens
