"""Per-reply latency from a ``ChatMessage``'s ``MetricsReport`` (livekit-agents).

What livekit-agents 1.8.9 puts in an assistant message's ``MetricsReport``
(``agent_activity.py``, ``_pipeline_reply_task``), and what that means in text mode:

- ``llm_node_ttft``: seconds from the LLM request to its first chunk; always reported
  when the reply came from the LLM node.
- ``tts_node_ttfb``: seconds from the TTS request to its first audio; **only when the
  agent synthesised audio**. In text mode (audio output off, as parley runs agents) the
  framework skips the TTS node, so it is absent.
- ``e2e_latency``: seconds from the user's speech ending (``stopped_speaking_at`` of
  the user's message metrics) to the agent starting to speak; only for spoken input.
  For typed input (``run_input``) parley measures the same span itself: from sending
  the text to the reply's ``started_speaking_at``.

Standard library only: the ``say`` path reads the result as plain JSON.
"""

from __future__ import annotations

from typing import Any

#: the keys of :attr:`parley.app.protocol.items.AgentMessage.latency`, in display order
LATENCY_KEYS = ("llm_ttft", "tts_ttfb", "e2e")


def message_latency(report: Any | None, sent_at: float | None) -> dict[str, float | None] | None:
    """``{"llm_ttft", "tts_ttfb", "e2e"}`` in seconds (``None`` when not known), or
    ``None`` when nothing is known at all.

    ``report`` is a ``lk.agent.session`` ``MetricsReport`` (or ``None``); ``sent_at``
    is when parley sent the turn's ``run_input`` (Unix seconds), ``None`` for a reply
    no turn asked for (a greeting, a background result).
    """
    if report is None:
        return None

    def field(name: str) -> Any | None:
        return getattr(report, name) if report.HasField(name) else None

    e2e = field("e2e_latency")
    started = field("started_speaking_at")
    if e2e is None and started is not None and sent_at is not None:
        spoke = started.ToNanoseconds() / 1e9
        if spoke >= sent_at:
            e2e = round(spoke - sent_at, 6)
    out = {"llm_ttft": field("llm_node_ttft"), "tts_ttfb": field("tts_node_ttfb"), "e2e": e2e}
    return out if any(v is not None for v in out.values()) else None


def format_duration(seconds: float) -> str:
    """``1h2m3s``, ``1m2s``, ``45s`` (whole seconds, as LiveKit's debugger prints)."""
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"
