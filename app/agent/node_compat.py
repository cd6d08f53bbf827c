"""Where a Node agent (@livekit/agents, ``get_framework_info().sdk == "js"``) speaks
``lk.agent.session`` differently from a Python one, turned into the same chat items.

Measured with @livekit/agents 1.9.0 on Node 20 (docs/protocol.md):

- no handoff event names the first agent: it is taken from ``get_agent_info`` at boot
  and emitted as the first-agent ``handoff`` a Python agent sends;
- no ``tool_execution_updated`` / ``function_tools_started``: a tool arrives only in
  ``function_tools_executed``, so its duration is unknown (``None``, never ``0.0``);
- tool outputs are JSON-encoded (``"\\"$42.00\\""``); a ``ToolError``'s text is not;
- a ``run_input`` sent while the previous run is unanswered fails ("nested runs are
  not supported"); the engine waits for that answer first;
- a turn with nothing to say is answered ``error='agent produced no response items'``
  (also after a model failure, whose ``error`` event carries only the model's label).

Functions here take the :class:`parley.app.agent.engine.SessionEngine` they help; the engine calls
them at the few points where the two frameworks differ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Protocol

from livekit.protocol.agent_pb import agent_session as pb

from parley.app.protocol import items as it


class SessionEngine(Protocol):
    """What these helpers use of :class:`parley.app.agent.engine.SessionEngine` (a
    protocol, so this module does not import the engine that imports it)."""

    framework: str
    agent_id: str | None

    @property
    def cancelled_turns(self) -> frozenset[str]: ...

    async def request(
        self, timeout: float | None = 30.0, *, turn: tuple[str, str] | None = None, **kind: Any
    ) -> pb.SessionResponse: ...

    def emit(self, item: it.ItemT, ts: float | None = None) -> it.ItemT: ...

    def pending_runs(self) -> list[tuple[str, asyncio.Future[pb.SessionResponse]]]: ...

    def release_events(self) -> None: ...


#: ``SessionResponse.error`` of a Node ``run_input`` that produced no chat item
NO_RESPONSE_ITEMS = "agent produced no response items"


async def learn_framework(engine: SessionEngine) -> None:
    """Ask the agent which framework it runs and who its agent is
    (``get_framework_info``, ``get_agent_info``, sent together); :func:`on_response`
    reads the answers as they arrive. An agent that cannot answer is taken as Python,
    whose first handoff arrives as an event."""
    await asyncio.gather(
        engine.request(get_framework_info=pb.SessionRequest.GetFrameworkInfo()),
        engine.request(get_agent_info=pb.SessionRequest.GetAgentInfo()),
        return_exceptions=True,
    )
    engine.release_events()  # if the answers failed (on_response releases them otherwise)


def on_response(engine: SessionEngine, resp: pb.SessionResponse) -> None:
    """Called by the engine for every ``SessionResponse`` before its waiter resumes
    (so nothing received after it is handled first): records the framework (``sdk``
    "python" or "js") and, for a Node agent, emits the first agent's ``handoff`` from
    ``get_agent_info`` when no handoff has named an agent yet."""
    which = resp.WhichOneof("response")
    if which == "get_framework_info":
        engine.framework = resp.get_framework_info.sdk
    elif which == "get_agent_info":
        agent_id = resp.get_agent_info.id
        if engine.framework == "js" and engine.agent_id is None and agent_id:
            engine.agent_id = agent_id
            engine.emit(it.Handoff(from_agent=None, to_agent=agent_id))
        engine.release_events()  # the events held since connect follow it


async def previous_run_answered(engine: SessionEngine, turn_id: str) -> bool:
    """Before a ``run_input``: a Node agent answers one sent while its previous run is
    unanswered (a cancelled turn's tool or speech still going) with "internal error"
    (its log: "nested runs are not supported"), so wait for that answer first (a
    Python agent queues the run itself). False when ``turn_id`` was cancelled
    meanwhile: it must not be sent."""
    if engine.framework != "js":
        return True
    waiting = [f for r, f in engine.pending_runs() if r != turn_id]
    if waiting:
        await asyncio.wait(waiting)
    return turn_id not in engine.cancelled_turns


def run_error_status(
    failure: str | None, error: str
) -> tuple[it.TurnStatus, str | None, str | None]:
    """``(status, error, reason)`` of a turn whose ``run_input`` answered ``error``;
    ``failure`` is the ``error`` event that came during the turn, if any.

    "agent produced no response items" is an empty turn that ended ok (``reason``
    says why it is empty), unless an error event came during the turn: then it is that
    failure. Any other error: ``("error", None, None)``, the caller words it."""
    if error != NO_RESPONSE_ITEMS:
        return "error", None, None
    if failure is not None:
        return "error", f"the agent failed ({failure}) and produced no response", None
    return "ok", None, NO_RESPONSE_ITEMS


def tool_output(framework: str, output: str | None, is_error: bool) -> str | None:
    """A tool's output as text: a Node agent's JSON-encoded string result decoded
    (``"\\"$42.00\\""`` → ``$42.00``); other JSON values and errors stay as sent."""
    if framework != "js" or not output or is_error:
        return output
    try:
        value = json.loads(output)
    except ValueError:
        return output
    return value if isinstance(value, str) else output


def decode_history(framework: str, items: list[it.ChatItem]) -> list[it.ChatItem]:
    """:func:`tool_output` applied to the tool calls of a ``get_chat_history``."""
    return [
        dataclasses.replace(i, output=tool_output(framework, i.output, i.is_error))
        if isinstance(i, it.ToolCall)
        else i
        for i in items
    ]
