"""The plain-JSON shapes that cross parley's seams besides chat items: the agent info
(engine → session → daemon → clients → the chat UI) and the event log's header (session →
``events.jsonl`` → recordings, replays and the UI).

They travel as JSON objects (the control channel, a file), so they are ``TypedDict``\\ s:
typed for the code on both sides, unchanged on the wire. Standard library only (on the
``parley say`` path).
"""

from __future__ import annotations

from typing import Any, TypedDict, cast


class AgentInfo(TypedDict):
    """The agent that is answering now (it changes on a handoff).

    Source: livekit-agents' ``get_agent_info`` request
    (``SessionResponse.GetAgentInfoResponse`` of ``lk.agent.session``), read by
    :meth:`parley.app.agent.engine.SessionEngine.agent_info`; for a recording (no agent
    runs) :func:`parley.app.backend.derive_agent_info` rebuilds it from the items.
    """

    #: the agent's id (``GetAgentInfoResponse.id``: the Agent's ``id``, by default its
    #: class name in snake case); ``"agent"`` for a recording that never named one
    id: str
    #: the agent's instructions (``GetAgentInfoResponse.instructions``); ``""`` for a
    #: recording
    instructions: str
    #: the function tools the model can call: ``GetAgentInfoResponse.tools``, then the
    #: session-level tools and toolsets named by the ``AgentConfigUpdate`` items of its
    #: ``chat_ctx``; for a recording, the tools the agent was seen calling (sorted)
    tools: list[str]


def agent_info(obj: dict[str, Any]) -> AgentInfo:
    """The :class:`AgentInfo` in a JSON object (an answer of the daemon): its ``id``,
    ``instructions`` and ``tools``, each of its type (a missing or wrong field reads as
    empty), other keys dropped."""
    tools = obj.get("tools")
    return {
        "id": str(obj.get("id") or ""),
        "instructions": str(obj.get("instructions") or ""),
        "tools": [str(t) for t in tools] if isinstance(tools, list) else [],
    }


def agent_id(info: AgentInfo | None) -> str | None:
    """The id of ``info``, ``None`` when there is no agent info (yet)."""
    return info["id"] if info else None


class RerunOf(TypedDict):
    """Which recording a rerun session reran (:class:`SessionHeader` ``rerun_of``)."""

    #: the recording's :class:`SessionHeader` ``session_id``
    session_id: str
    #: its event log, as the rerun was given it
    path: str


class SessionHeader(TypedDict, total=False):
    """The first line of a session's event log (``events.jsonl``), written by
    :meth:`parley.app.session.session.Session.start` and read back by
    :func:`parley.app.session.eventlog.read_log`.

    Every field may be missing in a recording made by an older parley, so read them with
    ``.get``. ``{}`` stands for "not known yet" (a UI still booting).
    """

    #: always ``"session"`` (:mod:`parley.app.session.eventlog`)
    type: str
    #: the chat-item JSON schema (:data:`parley.app.protocol.items.SCHEMA_VERSION`)
    schema: int
    #: the parley that wrote the log (package metadata)
    parley_version: str
    #: ``YYYYMMDD-HHMMSS-xxxxxx``, also the recording's directory name
    session_id: str
    #: the project directory the daemon ran for (resolved path)
    project: str
    #: the agent's entry file (resolved path)
    agent_file: str
    #: the first agent's id at boot (:class:`AgentInfo` ``id``), ``None`` if unknown
    agent_id: str | None
    #: when the session started, Unix seconds
    started_at: float
    #: the arguments given to the agent after ``--`` (``parley start AGENT -- ARGS``)
    agent_args: list[str]
    #: the recording a ``parley rerun`` session reran (:mod:`parley.app.daemon.rerun`)
    rerun_of: RerunOf


def session_header(obj: object) -> SessionHeader | None:
    """``obj`` (a parsed JSON line) as a :class:`SessionHeader` when it is one (an object
    whose ``type`` is ``"session"``), else ``None``. The fields are not checked one by one:
    they are read with ``.get`` and may be missing."""
    if isinstance(obj, dict) and obj.get("type") == "session":
        return cast(SessionHeader, obj)
    return None
