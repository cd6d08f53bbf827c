"""Conversions from the agent's protobuf messages to chat items and readable text.

Pure functions (no I/O) used by :mod:`parley.app.agent.events` and
:mod:`parley.app.agent.engine`: chat messages, usage, the agent's chat history, and error
texts made readable.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from google.protobuf.json_format import MessageToDict
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.protocol import items as it

# the ``type`` of livekit-agents' error events (LLMError, TTSError, STTError ...)
_ERROR_KINDS = {
    "llm_error": ("model_error", "model error"),
    "realtime_model_error": ("model_error", "model error"),
    "tts_error": ("tts_error", "TTS error"),
    "stt_error": ("stt_error", "speech-to-text error"),
}


def readable_error(raw: str) -> tuple[str, str | None]:
    """One line a person reads for an error the agent reported, and its kind.

    ``raw`` is an ``AgentSessionEvent.error.message`` (livekit-agents sends
    ``str(ErrorEvent.error)``, e.g. ``type='llm_error' timestamp=… error=APIStatusError(
    'scripted model failure', status_code=500, …) recoverable=False``) or a
    ``SessionResponse.error`` (``message='scripted model failure', status_code=500,
    retryable=False``). Returns e.g. ``("model error: scripted model failure (HTTP 500)",
    "model_error")``; text in neither shape comes back unchanged with kind ``None``.
    """
    kind, label = None, None
    if m := re.match(r"\s*type='(\w+)'", raw):
        kind, label = _ERROR_KINDS.get(m.group(1), (None, m.group(1).replace("_", " ")))
    message = None
    if m := re.search(r"\berror=\w+\((?P<q>['\"])(?P<msg>.*?)(?P=q)", raw, re.DOTALL):
        message = m.group("msg")
    elif m := re.match(r"\s*message=(?P<q>['\"])(?P<msg>.*?)(?P=q)", raw, re.DOTALL):
        message = m.group("msg")
    if message is None:
        return raw.strip(), kind
    if m := re.search(r"\bstatus_code=(\d+)", raw):
        message += f" (HTTP {m.group(1)})"
    if label is None and kind is None and "status_code=" in raw:
        label = "model error"  # an APIError's text: the response error of a failed model
    return (f"{label}: {message}" if label else message), kind


def is_background_error(message: str) -> bool:
    """Whether an ``error`` event says nothing about the turn: a recoverable STT error
    (livekit-agents sends ``str(STTError)``: ``type='stt_error' … recoverable=True``)
    while audio input is off, as it is in text mode. LiveKit's template opens its STT
    at boot even then, and retries it while the service is out of reach."""
    return message.startswith("type='stt_error'") and "recoverable=True" in message


def message_text(m: pb.ChatMessage) -> str:
    """The text parts of a ``ChatMessage``, joined with newlines."""
    return "\n".join(c.text for c in m.content if c.WhichOneof("payload") == "text")


def usage_models(usage: pb.AgentSessionUsage) -> list[dict[str, Any]]:
    """``AgentSessionUsage.model_usage`` as ``[{"kind": "llm", "provider", "model", …}]``."""
    out = []
    for mu in usage.model_usage:
        kind = mu.WhichOneof("usage")
        if kind:
            d = MessageToDict(
                getattr(mu, kind),
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
            out.append({"kind": kind, **d})
    return out


def history_items(chat_items: Any) -> list[it.ChatItem]:
    """Convert ``ChatContext.ChatItem``\\ s (``get_chat_history``) to unnumbered chat
    items; function calls are paired with their outputs by ``call_id``."""
    result: list[it.ChatItem] = []
    calls: dict[str, tuple[int, it.ToolCall]] = {}  # call_id -> (index in result, call)
    agent: str | None = None
    for ci in chat_items:
        kind = ci.WhichOneof("item")
        if kind == "message":
            m = ci.message
            text = message_text(m)
            if m.role == pb.USER:
                result.append(it.UserMessage(text=text))
            elif m.role == pb.ASSISTANT:
                result.append(it.AgentMessage(text=text, agent_id=agent, interrupted=m.interrupted))
        elif kind == "function_call":
            fc = ci.function_call
            call = it.ToolCall(
                call_id=fc.call_id, name=fc.name, arguments=fc.arguments, agent_id=agent
            )
            calls[fc.call_id] = (len(result), call)
            result.append(call)
        elif kind == "function_call_output":
            out = ci.function_call_output
            done = it.ToolCall(
                call_id=out.call_id,
                name=out.name,
                status="error" if out.is_error else "done",
                output=out.output,
                is_error=out.is_error,
                agent_id=agent,
            )
            if out.call_id in calls:
                index, start = calls[out.call_id]
                done = dataclasses.replace(done, arguments=start.arguments, name=start.name)
                result[index] = done
            else:
                result.append(done)
        elif kind == "agent_handoff":
            h = ci.agent_handoff
            agent = h.new_agent_id
            result.append(it.Handoff(from_agent=h.old_agent_id or None, to_agent=h.new_agent_id))
    return result
