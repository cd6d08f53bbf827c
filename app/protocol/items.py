"""The chat-item stream: the closed set of items both front-ends render.

Every item has a monotonic ``seq`` (1, 2, … within a session), a timestamp ``ts``
(Unix seconds, float) and the ``turn_id`` of the turn it belongs to, or ``None`` for
an item no turn asked for (a boot greeting, a late item after a turn's response, a
background tool result).

One JSON form serves everything: ``--json`` output, the daemon's messages to its
clients, the event log and recordings. Each object carries ``"v"`` (the schema
version, :data:`SCHEMA_VERSION`) and ``"type"``; :func:`item_from_dict` reads it back
and ignores fields it does not know, so a newer writer stays readable.

This module is on the ``parley say`` path: it imports nothing beyond the standard
library.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from parley.app.errors import ParleyError

SCHEMA_VERSION = 1

ToolStatus = Literal["running", "done", "error", "cancelled"]
TurnStatus = Literal["ok", "error", "cancelled", "timeout"]

TOOL_TERMINAL: frozenset[str] = frozenset({"done", "error", "cancelled"})


@dataclass(frozen=True, kw_only=True)
class ChatItem:
    """Fields every item has. ``seq`` 0 means "not yet numbered by a session"."""

    type: ClassVar[str] = ""
    seq: int = 0
    ts: float = 0.0
    turn_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The item's JSON object: ``{"v": 1, "type": ..., "seq": ..., ...}``. Fields
        added later (``latency``, ``progress``, ``kind``, ``detail``) appear only when
        set."""
        d: dict[str, Any] = {"v": SCHEMA_VERSION, "type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue  # a field added later: older recordings read back unchanged
            d[f.name] = value
        return d

    def to_json(self) -> str:
        """One line of JSON (no newline), UTF-8 text kept as is."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, kw_only=True)
class UserMessage(ChatItem):
    """What the user typed; recorded by the session when the turn is sent."""

    type: ClassVar[str] = "user_message"
    text: str


@dataclass(frozen=True, kw_only=True)
class AgentMessage(ChatItem):
    """An assistant ``ChatMessage`` (``conversation_item_added``), spoken by ``agent_id``.

    ``metrics`` is the message's ``MetricsReport`` as a dict (seconds), when the agent
    sent one; ``interrupted`` is the protobuf flag.

    ``latency`` is what ``say --metrics`` shows, in seconds (``None`` for a value not
    known): ``{"llm_ttft", "tts_ttfb", "e2e"}``, from
    :func:`parley.app.protocol.latency.message_latency`.
    """

    type: ClassVar[str] = "agent_message"
    text: str
    agent_id: str | None = None
    interrupted: bool = False
    metrics: dict[str, Any] | None = None
    latency: dict[str, float | None] | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, kw_only=True)
class ToolCall(ChatItem):
    """A function tool call, paired with its output by ``call_id``.

    A call appears twice in the stream: once with ``status="running"`` when the agent
    starts it (``tool_execution_updated.started``) and once with a final status
    (``done`` / ``error`` / ``cancelled``) and its ``output`` when it ends
    (``function_tools_executed``, whose ``is_error`` sets ``error``). ``arguments`` is
    the JSON text the model produced; ``duration_ms`` is measured by parley between
    the two updates as they arrive (``None`` when only the end was reported, as Node
    agents do).

    A tool that reports progress (``RunContext.update()``, protobuf
    ``tool_execution_updated.call_updated``) adds one ``running`` item per update in
    between, with the update's text in ``progress``; its final item carries the value the
    tool returned (``tool_execution_updated.ended``), not the synthetic output the
    framework hands the model at the first update.
    """

    type: ClassVar[str] = "tool_call"
    call_id: str
    name: str
    arguments: str = ""
    status: ToolStatus = "running"
    output: str | None = None
    is_error: bool = False
    duration_ms: float | None = None
    agent_id: str | None = None
    progress: str | None = field(default=None, metadata={"omit_none": True})

    @property
    def finished(self) -> bool:
        return self.status in TOOL_TERMINAL


@dataclass(frozen=True, kw_only=True)
class Handoff(ChatItem):
    """The agent in charge changed (``AgentHandoff``); ``from_agent`` is ``None`` for
    the first agent of the session (livekit-agents sends it with an empty
    ``old_agent_id``)."""

    type: ClassVar[str] = "handoff"
    from_agent: str | None
    to_agent: str


@dataclass(frozen=True, kw_only=True)
class ConfigUpdate(ChatItem):
    """The agent's instructions or tools changed (``AgentConfigUpdate``)."""

    type: ClassVar[str] = "config_update"
    agent_id: str | None = None
    instructions: str | None = None
    tools_added: list[str] = field(default_factory=list)
    tools_removed: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AgentError(ChatItem):
    """An error the agent reported (``AgentSessionEvent.error``, a failed request) or
    that parley saw (the agent process died, the connection dropped).

    ``message`` is one line a person reads (``model error: scripted model failure (HTTP
    500)``); ``detail`` the full text the agent sent (for a model error the framework's
    ``LLMError`` repr), when it differs. ``kind`` says what happened:

    - ``model_error`` / ``tts_error`` / ``stt_error``: a model failed (``error`` event);
    - ``call_ended``: the agent ended the session itself (``end_call``, session closed by
      the agent): not a crash; a new ``parley start`` starts a new session;
    - ``agent_exited``: the agent process exited or was killed;
    - ``event_log_gap``: in an event log only, in place of items it could not keep
      while it could not write (a full disk; :class:`parley.app.session.eventlog.EventLog`);
    - ``None``: anything else.

    ``background`` is true for an error that says nothing about the turn: a
    recoverable STT error (``STTError(..., recoverable=True)``, the STT service out of
    reach) while audio input is off, as it always is in text mode. It is recorded (the
    JSON, the event log, ``status``) but no renderer shows it.
    """

    type: ClassVar[str] = "agent_error"
    message: str
    kind: str | None = field(default=None, metadata={"omit_none": True})
    detail: str | None = field(default=None, metadata={"omit_none": True})
    background: bool | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, kw_only=True)
class AgentState(ChatItem):
    """``agent_state_changed``: one of initializing / idle / listening / thinking /
    speaking."""

    type: ClassVar[str] = "agent_state"
    old_state: str
    new_state: str


@dataclass(frozen=True, kw_only=True)
class Usage(ChatItem):
    """``session_usage_updated``: cumulative usage per model for the session.

    ``models`` is a list of dicts, each ``{"kind": "llm"|"tts"|"stt"|…, "provider",
    "model", <the protobuf's counters>}`` (tokens are counts, durations seconds).
    """

    type: ClassVar[str] = "usage"
    models: list[dict[str, Any]] = field(default_factory=list)

    def _llm_sum(self, key: str) -> int:
        return sum(int(m.get(key, 0)) for m in self.models if m.get("kind") == "llm")

    @property
    def input_tokens(self) -> int:
        """LLM input tokens of the session so far."""
        return self._llm_sum("input_tokens")

    @property
    def output_tokens(self) -> int:
        """LLM output tokens of the session so far."""
        return self._llm_sum("output_tokens")

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, kw_only=True)
class TurnFinished(ChatItem):
    """The last item of every turn. ``status``: ``ok``, ``error`` (``error`` holds the
    agent's ``SessionResponse.error``, made readable) or ``cancelled``; ``duration_ms``
    from sending ``run_input`` to the end of the turn; ``reason`` says why an ok turn
    has no reply (a Node agent's "agent produced no response items").

    A turn ends when the agent has finished answering it, not at the ``run_input``
    response: see :meth:`parley.app.agent.events.EventTranslator.busy_reason` for the rule.
    ``timeout`` is reserved in the schema for a turn the session gives up on; this
    version never does (``say --timeout`` leaves the turn running), so it does not
    occur yet."""

    type: ClassVar[str] = "turn_finished"
    status: TurnStatus
    error: str | None = None
    duration_ms: float | None = None
    #: the agent's ``SessionResponse.error`` as sent, when ``error`` is a cleaned form
    detail: str | None = field(default=None, metadata={"omit_none": True})
    reason: str | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, kw_only=True)
class Reload(ChatItem):
    """Watch mode (``--watch``) saw the agent's sources change and reloaded it, or
    tried to.

    ``files``: the changed paths, relative to the project; ``agent_pid``: the new
    agent process (``None`` when the reload failed); ``duration_ms``: from parley
    seeing the change to the new agent connected in text mode; ``warm``: a spare
    interpreter that had already imported livekit-agents took it; ``error``: why the
    new agent could not start (a syntax error, its log's tail). On an error the
    previous agent keeps running and the watcher waits for the next save.
    """

    type: ClassVar[str] = "reload"
    files: list[str] = field(default_factory=list)
    agent_pid: int | None = None
    duration_ms: float | None = None
    warm: bool = False
    error: str | None = None


#: one item type, kept through a function that returns what it was given (``emit``
#: numbers an item and returns the same type, so ``emit(it.Reload(...))`` is a ``Reload``)
ItemT = TypeVar("ItemT", bound=ChatItem)

ITEM_TYPES: dict[str, type[ChatItem]] = {
    cls.type: cls
    for cls in (
        UserMessage,
        AgentMessage,
        ToolCall,
        Handoff,
        ConfigUpdate,
        AgentError,
        AgentState,
        Usage,
        TurnFinished,
        Reload,
    )
}


class ItemFormatError(ParleyError, ValueError):
    """A JSON object that is not a chat item this version can read."""


def item_from_dict(d: dict[str, Any]) -> ChatItem:
    """Rebuild an item from its JSON object.

    Raises :class:`ItemFormatError` for an unknown ``type``, a schema version newer
    than :data:`SCHEMA_VERSION`, or missing required fields. Unknown fields are
    ignored.
    """
    version = d.get("v", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ItemFormatError(
            f"chat item schema version {version!r} is newer than this parley reads "
            f"({SCHEMA_VERSION}); upgrade parley"
        )
    cls = ITEM_TYPES.get(d.get("type", ""))
    if cls is None:
        raise ItemFormatError(f"unknown chat item type {d.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in d.items() if k in names})
    except TypeError as e:
        raise ItemFormatError(f"bad {cls.type} item: {e}") from None


def item_from_json(line: str) -> ChatItem:
    """:func:`item_from_dict` on one line of JSON; raises :class:`ItemFormatError`."""
    try:
        d = json.loads(line)
    except json.JSONDecodeError as e:
        raise ItemFormatError(f"not JSON: {e}") from None
    if not isinstance(d, dict):
        raise ItemFormatError("a chat item is a JSON object")
    return item_from_dict(d)
