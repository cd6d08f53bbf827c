"""The status bar: agent state with a spinner while it thinks, the last turn's
latency and metrics (time to first token, tool durations), queued turns, replay
progress, and the session's token usage.

The spinner is a two-cell widget of its own, advanced by a timer only while it
spins, so it never triggers a layout refresh; ``frozen`` stops it (snapshots). The
middle part takes the room left and ends in ``…`` when it does not fit, so a
narrow terminal never runs the parts together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from parley.app.protocol import items as it
from parley.widgets.rows import clean_text, format_ms

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNING = frozenset({"starting", "thinking", "restarting", "stopping"})
STATE_LABEL = {
    "starting": "starting agent…",
    "restarting": "restarting agent…",
    "stopping": "stopping agent…",
}
STATE_CLASSES = ("listening", "thinking", "speaking", "disconnected", "initializing")


def usage_tokens(usage: it.Usage) -> tuple[int, int]:
    """``(input, output)`` LLM tokens of one agent process (livekit-agents'
    ``session_usage_updated`` is cumulative for the process that sends it)."""
    return usage.input_tokens, usage.output_tokens


class UsageTotals:
    """Token usage of the whole session across agent restarts.

    Each agent process counts from zero. A new process is noticed by
    :meth:`new_process` (the first agent's handoff, a restart) or by its counters
    going down; the old process's last counts are then kept in ``banked``.
    """

    def __init__(self) -> None:
        self.banked = (0, 0)
        self.current = (0, 0)

    def new_process(self) -> None:
        self.banked = (self.banked[0] + self.current[0], self.banked[1] + self.current[1])
        self.current = (0, 0)

    def update(self, usage: it.Usage) -> None:
        tokens = usage_tokens(usage)
        if sum(tokens) < sum(self.current):
            self.new_process()
        self.current = tokens

    @property
    def session(self) -> tuple[int, int]:
        """``(input, output)`` tokens of the session."""
        return self.banked[0] + self.current[0], self.banked[1] + self.current[1]


@dataclass
class _Turn:
    ttft_s: float | None = None
    tools: list[tuple[str, float | None]] = field(default_factory=list)


class TurnMetrics:
    """Per-turn metrics, as LiveKit's console shows them: the time to first token of
    the turn's first reply (``llm_node_ttft``, seconds, of the ``MetricsReport`` on
    the agent's ``ChatMessage``) and the duration of each tool call that ended in
    the turn."""

    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    def message(self, msg: it.AgentMessage) -> None:
        if not msg.turn_id:
            return
        turn = self._turns.setdefault(msg.turn_id, _Turn())
        ttft = (msg.metrics or {}).get("llm_node_ttft")
        if turn.ttft_s is None and isinstance(ttft, (int, float)):
            turn.ttft_s = float(ttft)

    def tool(self, call: it.ToolCall) -> None:
        if call.turn_id and call.finished:
            self._turns.setdefault(call.turn_id, _Turn()).tools.append(
                (call.name, call.duration_ms)
            )

    def summary(self, turn_id: str, max_tools: int = 3) -> str:
        """``ttft 0.9 ms · lookup_weather 1.2 ms`` for the turn ('' when it has none);
        the turn is forgotten."""
        turn = self._turns.pop(turn_id, None)
        if turn is None:
            return ""
        parts = []
        if turn.ttft_s is not None:
            parts.append(f"ttft {format_ms(turn.ttft_s * 1000)}")
        for name, ms in turn.tools[:max_tools]:
            parts.append(f"{clean_text(name)} {format_ms(ms)}")
        if len(turn.tools) > max_tools:
            parts.append(f"+{len(turn.tools) - max_tools} tools")
        return " · ".join(parts)


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
