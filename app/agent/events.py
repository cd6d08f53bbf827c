"""The agent's events turned into chat items, and what they say about its activity.

:class:`EventTranslator` is the half of :class:`parley.app.agent.engine.SessionEngine`
that reads ``AgentSessionEvent``\\ s (and the chat items of a ``run_input`` response)
and emits :mod:`parley.app.protocol.items`: messages, handoffs, config updates, state
changes, usage, errors, and tool calls paired with their progress and results. It keeps
what those events tell about the agent (its state, the tools running, replies
scheduled) and decides from it whether the agent is still answering
(:meth:`EventTranslator.busy_reason`, the end-of-turn rule). The engine does the rest:
the connection, requests and responses, turns, numbering and stamping items
(:meth:`~EventTranslator.emit`) and which turn an event belongs to.

Protocol facts it relies on (livekit-agents 1.8.9, see docs/protocol.md, "Chat items on
the wire" and "Turn ends, tools and errors in detail"):

- tool calls come as ``tool_execution_updated`` (started / call_updated / ended /
  reply_updated) and ``function_tools_executed`` (outputs, ``is_error``), paired by
  ``call_id``; a tool that reported progress gets its result from ``ended``;
- messages and handoffs come as ``conversation_item_added``; the first agent is a
  handoff with an empty ``old_agent_id``; a ``run_input`` response's items repeat
  events, deduplicated by chat item id / ``call_id``.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from google.protobuf.json_format import MessageToDict
from livekit.protocol.agent_pb import agent_session as pb

from parley.app.agent import node_compat
from parley.app.agent.convert import (
    is_background_error,
    message_text,
    readable_error,
    usage_models,
)
from parley.app.protocol import items as it
from parley.app.protocol.latency import message_latency

log = logging.getLogger("parley.engine")

_AGENT_STATES = {
    pb.AS_INITIALIZING: "initializing",
    pb.AS_IDLE: "idle",
    pb.AS_LISTENING: "listening",
    pb.AS_THINKING: "thinking",
    pb.AS_SPEAKING: "speaking",
}
_TOOL_STATUS: dict[int, it.ToolStatus] = {
    pb.TC_DONE: "done",
    pb.TC_ERROR: "error",
    pb.TC_CANCELLED: "cancelled",
}

#: after a handoff with no reply yet, the agent counts as busy until this many seconds
#: pass without a frame (handoff -> the new agent's first state change took 13-21 ms)
HANDOFF_QUIET = 0.15
#: how long a tool output waits for the agent's reaction (a state change, its
#: ``function_tools_executed``) before the turn may end anyway, seconds
OUTPUT_GRACE = 2.0


class EventTranslator:
    """The agent's events as chat items, and its activity (see the module docstring).

    Subclassed by :class:`parley.app.agent.engine.SessionEngine`, which provides
    :meth:`emit` and :meth:`_event_turn` and feeds it frames.
    """

    def __init__(self) -> None:
        self.agent_id: str | None = None
        #: ``get_framework_info().sdk``: "python" or "js" ("" until known)
        self.framework = ""
        #: how many ``background`` agent errors arrived (see :func:`is_background_error`)
        self.background_errors = 0
        self.agent_state = "initializing"
        self._tag_override: str | None = None  # the turn of a response's items
        self._seen: set[str] = set()
        self._tool_started: dict[str, tuple[float | None, it.ToolCall]] = {}
        self._tool_finished: set[str] = set()
        self._own_inputs: dict[str, str] = {}  # turn_id -> text, until the agent echoes it
        # what the end of a turn waits for (see busy_reason)
        self._last_frame = 0.0  # time.monotonic() of the last frame received
        self._booting = True  # until the first turn
        self._boot_thinking = False  # thinking seen at boot, no message or error since
        self._handoff_open = False  # a handoff with no assistant message after it yet
        self._progressive: set[str] = set()  # calls that reported progress
        self._ended_pending: dict[str, tuple[float, it.ToolStatus, str | None]] = {}
        self._replies: set[str] = set()  # speech ids of tool replies scheduled
        self._reply_expected: float | None = None  # a tool output awaits the agent's move
        self._turn_error: dict[str, str] = {}  # turn_id -> readable error seen in it
        self._sent_at: dict[str, float] = {}  # turn_id -> when run_input was sent (Unix s)

    def emit(self, item: it.ItemT, ts: float | None = None) -> it.ItemT:
        """Number and stamp ``item`` and hand it on (the engine's)."""
        raise NotImplementedError

    def _event_turn(self) -> str | None:
        """The turn an event arriving now belongs to (the engine's)."""
        raise NotImplementedError

    @property
    def tools_running(self) -> int:
        """Function tool calls started and not ended yet (any agent's)."""
        return len(self._tool_started)

    # -- the end of a turn ------------------------------------------------------------

    def busy_reason(self, now: float | None = None) -> tuple[str | None, float | None]:
        """Why the agent has not finished answering yet: ``(reason, until)``, where
        ``until`` is the ``time.monotonic()`` at which that reason lapses on its own
        (``None``: only an event clears it); ``(None, None)`` when it is idle.

        The rule (measured on livekit-agents 1.8.9, see docs/protocol.md): the agent is
        ``listening``/``idle``; no tool started by the *current* agent still runs (a
        tool whose agent is parked behind an ``AgentTask`` waits for the user, so it is
        ignored); no tool that ended is still missing from ``function_tools_executed``
        and no tool output is still waiting for the agent's next move (both at most
        :data:`OUTPUT_GRACE`); no deferred tool reply (``reply_updated``) is scheduled;
        after a handoff with no reply yet, :data:`HANDOFF_QUIET` without a frame. At
        boot also: once the agent was ``thinking``, its greeting (or an error) came.
        """
        now = time.monotonic() if now is None else now
        state = self.agent_state
        # "initializing" after boot: an agent that never reports its state
        if state not in ("listening", "idle") and (state != "initializing" or self._booting):
            return f"the agent is {state}", None
        for _, call in self._tool_started.values():
            if call.agent_id == self.agent_id and call.call_id not in self._ended_pending:
                return f"tool {call.name} is running", None
        for t, _, _ in self._ended_pending.values():
            if now < t + OUTPUT_GRACE:
                return "a tool output is on its way", t + OUTPUT_GRACE
        if self._replies:
            return "a tool reply is scheduled", None
        if self._reply_expected is not None and now < self._reply_expected + OUTPUT_GRACE:
            return "the agent has a tool output to answer", self._reply_expected + OUTPUT_GRACE
        if self._booting and self._boot_thinking:
            return "the agent is preparing its greeting", None
        if self._handoff_open and now < self._last_frame + HANDOFF_QUIET:
            return "a new agent is taking over", self._last_frame + HANDOFF_QUIET
        return None, None

    def _flush_ended(self, now: float) -> None:
        """A tool that ended but never showed up in ``function_tools_executed`` within
        :data:`OUTPUT_GRACE`: finish it from its ``ended`` update."""
        for call_id, (t, status, message) in list(self._ended_pending.items()):
            if now >= t + OUTPUT_GRACE:
                del self._ended_pending[call_id]
                self._tool_end_status(call_id, status, message, None, status == "error")

    # -- events into chat items ---------------------------------------------------

    def _on_event(self, ev: pb.AgentSessionEvent) -> None:
        kind = ev.WhichOneof("event")
        ts = ev.created_at.ToNanoseconds() / 1e9 if ev.HasField("created_at") else None
        if kind == "agent_state_changed":
            new = _AGENT_STATES.get(ev.agent_state_changed.new_state, "idle")
            old = _AGENT_STATES.get(ev.agent_state_changed.old_state, "idle")
            self.agent_state = new
            self._reply_expected = None  # the agent moved
            if self._booting and new == "thinking":
                self._boot_thinking = True
            self.emit(it.AgentState(old_state=old, new_state=new), ts)
        elif kind == "conversation_item_added":
            self._on_chat_item(ev.conversation_item_added.item, ts)
        elif kind == "tool_execution_updated":
            self._on_tool_update(ev.tool_execution_updated, ts)
        elif kind == "function_tools_started":  # Node agents
            for fc in ev.function_tools_started.function_calls:
                self._tool_start(fc, ts)
        elif kind == "function_tools_executed":
            ex = ev.function_tools_executed
            calls = {fc.call_id: fc for fc in ex.function_calls}
            for out in ex.function_call_outputs:
                self._tool_end(calls.get(out.call_id), out, ts)
            if ex.function_call_outputs:
                self._reply_expected = time.monotonic()
        elif kind == "error":
            message, error_kind = readable_error(ev.error.message)
            quiet = is_background_error(ev.error.message) or None
            if quiet and not self.background_errors:
                log.warning("background agent error (recorded, not shown): %s", message)
            self.background_errors += bool(quiet)
            if not quiet:  # a background error is neither a greeting nor a turn's failure
                self._boot_thinking = False
            item = self.emit(
                it.AgentError(
                    message=message,
                    kind=error_kind,
                    detail=ev.error.message if ev.error.message != message else None,
                    background=quiet,
                ),
                ts,
            )
            if item.turn_id is not None and not quiet:
                self._turn_error[item.turn_id] = message
        elif kind == "session_usage_updated":
            self.emit(it.Usage(models=usage_models(ev.session_usage_updated.usage)), ts)

    def _on_chat_item(
        self, ci: pb.ChatContext.ChatItem, ts: float | None = None, turn_id: str | None = None
    ) -> None:
        """Convert one ``ChatContext.ChatItem``; ``turn_id`` overrides the running
        turn (for a response's items arriving after its turn was cancelled)."""
        kind = ci.WhichOneof("item")
        if turn_id is not None:
            saved, self._tag_override = self._tag_override, turn_id
            try:
                self._on_chat_item(ci, ts)
            finally:
                self._tag_override = saved
            return
        if kind == "function_call":
            self._tool_start(ci.function_call, ts)
            return
        if kind == "function_call_output":
            self._tool_end(None, ci.function_call_output, ts)
            return
        item_id = getattr(ci, kind).id if kind else ""
        if item_id:
            if item_id in self._seen:
                return
            self._seen.add(item_id)
        if kind == "message":
            m = ci.message
            text = message_text(m)
            if m.role == pb.USER:
                if self._is_own_input(text):
                    return  # the user message we emitted when sending run_input
                self.emit(it.UserMessage(text=text), ts)
            elif m.role == pb.ASSISTANT:
                self._handoff_open = self._boot_thinking = False
                report = m.metrics if m.HasField("metrics") else None
                metrics = (
                    MessageToDict(report, preserving_proto_field_name=True)
                    if report is not None
                    else None
                )
                turn = self._event_turn()
                self.emit(
                    it.AgentMessage(
                        text=text,
                        agent_id=self.agent_id,
                        interrupted=m.interrupted,
                        metrics=metrics or None,
                        latency=message_latency(report, self._sent_at.get(turn or "")),
                    ),
                    ts,
                )
        elif kind == "agent_handoff":
            h = ci.agent_handoff
            self.agent_id = h.new_agent_id
            self._handoff_open = True
            self.emit(it.Handoff(from_agent=h.old_agent_id or None, to_agent=h.new_agent_id), ts)
        elif kind == "agent_config_update":
            c = ci.agent_config_update
            self.emit(
                it.ConfigUpdate(
                    agent_id=self.agent_id,
                    instructions=c.instructions if c.HasField("instructions") else None,
                    tools_added=list(c.tools_added),
                    tools_removed=list(c.tools_removed),
                ),
                ts,
            )

    def _is_own_input(self, text: str) -> bool:
        """Whether a USER message echoes the text of the turn it belongs to (matched
        once: a turn's own input is recorded when parley sends it)."""
        turn = self._event_turn()
        if turn is not None and self._own_inputs.get(turn) == text:
            del self._own_inputs[turn]
            return True
        # the echo can trail its turn's response by a frame: any turn still running
        for turn_id, sent in self._own_inputs.items():
            if sent == text:
                del self._own_inputs[turn_id]
                return True
        return False

    def _on_tool_update(
        self, up: pb.AgentSessionEvent.ToolExecutionUpdated, ts: float | None
    ) -> None:
        which = up.WhichOneof("update")
        if which == "started":
            self._tool_start(up.started.function_call, ts)
        elif which == "call_updated":
            self._tool_progress(up.call_updated.call_id, up.call_updated.message, ts)
        elif which == "ended":
            e = up.ended
            status = _TOOL_STATUS.get(e.status, "done")
            message = e.message if e.HasField("message") else None
            if status == "cancelled":
                # a cancelled call has no output in function_tools_executed
                self._tool_end_status(e.call_id, "cancelled", message, ts)
            elif e.call_id in self._progressive:
                # its function_tools_executed output was the first update's; the
                # result is this, and the agent will phrase it in a deferred reply
                self._tool_end_status(e.call_id, status, message, ts, status == "error")
                self._reply_expected = time.monotonic()
            elif e.call_id in self._tool_started:
                # the output (with is_error) follows in function_tools_executed
                self._ended_pending[e.call_id] = (time.monotonic(), status, message)
        elif which == "reply_updated":
            if up.reply_updated.status == pb.TR_SCHEDULED:
                self._replies.add(up.reply_updated.speech_id)
            else:
                self._replies.discard(up.reply_updated.speech_id)

    def _tool_start(self, fc: pb.FunctionCall, ts: float | None, seen: bool = True) -> None:
        """Emit the ``running`` item of a call; ``seen=False`` when only its end was
        reported (Node agents, history): its duration is then unknown."""
        if fc.call_id in self._tool_started or fc.call_id in self._tool_finished:
            return
        seen = seen and self.framework != "js"  # Node sends no start event at all
        call = it.ToolCall(
            call_id=fc.call_id, name=fc.name, arguments=fc.arguments, agent_id=self.agent_id
        )
        item = self.emit(call, ts)
        self._tool_started[fc.call_id] = (time.monotonic() if seen else None, item)

    def _tool_progress(self, call_id: str, message: str, ts: float | None) -> None:
        """A ``RunContext.update()``: one more ``running`` item with ``progress``."""
        self._progressive.add(call_id)
        entry = self._tool_started.get(call_id)
        if entry is None:
            return
        self.emit(dataclasses.replace(entry[1], progress=message, turn_id=None), ts)

    def _tool_end(
        self, fc: pb.FunctionCall | None, out: pb.FunctionCallOutput, ts: float | None
    ) -> None:
        self._ended_pending.pop(out.call_id, None)
        if out.call_id in self._progressive:
            # the synthetic output of the first progress update: the tool runs on
            if fc is not None:
                self._tool_start(fc, ts)
            return
        if fc is not None:  # no start event came (Node): its duration is unknown
            self._tool_start(fc, ts, seen=False)
        elif out.call_id not in self._tool_started:
            self._tool_start(pb.FunctionCall(call_id=out.call_id, name=out.name), ts, seen=False)
        self._tool_end_status(
            out.call_id, "error" if out.is_error else "done", out.output, ts, out.is_error
        )

    def _tool_end_status(
        self,
        call_id: str,
        status: it.ToolStatus,
        output: str | None,
        ts: float | None,
        is_error: bool = False,
    ) -> None:
        if call_id in self._tool_finished or call_id not in self._tool_started:
            return
        self._tool_finished.add(call_id)
        t0, start = self._tool_started.pop(call_id)
        self._ended_pending.pop(call_id, None)
        self._progressive.discard(call_id)
        self.emit(
            dataclasses.replace(
                start,
                status=status,
                output=node_compat.tool_output(self.framework, output, is_error),
                is_error=is_error,
                duration_ms=None if t0 is None else round((time.monotonic() - t0) * 1000, 1),
                turn_id=None,
            ),
            ts,
        )
