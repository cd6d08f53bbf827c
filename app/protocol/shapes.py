"""The plain-JSON shapes that cross parley's seams besides chat items: the agent info
(engine → session → daemon → clients → the chat UI), the event log's header (session →
``events.jsonl`` → recordings, replays and the UI), the session's status (session →
daemon → clients → ``parley status`` and the UI), what ``start`` and ``restart`` get
back once the agent is up, and the summary ``parley stop`` prints.

They travel as JSON objects (the control channel, a file), so they are ``TypedDict``\\ s:
typed for the code on both sides, unchanged on the wire. Standard library only (on the
``parley say`` path).
"""

from __future__ import annotations

import types
from typing import Any, TypedDict, Union, cast, get_args, get_origin, get_type_hints


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


class SessionStatus(TypedDict):
    """A JSON-able snapshot of a session: its agent, state, turns, processes and logs.

    Made by :meth:`parley.app.session.session.Session.status`; the daemon adds its own
    part (:class:`DaemonStatus`).
    """

    #: ``YYYYMMDD-HHMMSS-xxxxxx`` (:class:`SessionHeader` ``session_id``)
    session_id: str
    #: the project directory (resolved path)
    project: str
    #: the agent's entry file (resolved path)
    agent_file: str
    #: ``"python"`` or ``"node"`` (:data:`parley.app.agent.launcher.AgentKind`)
    agent_kind: str
    #: the command that runs the agent and why it was chosen
    #: (:attr:`parley.app.agent.launcher.AgentSpec.runtime_line`)
    runtime: str
    #: ``GetFrameworkInfoResponse`` of the agent: ``"python"``, ``"js"``, ``""`` if unknown
    framework: str
    #: errors the agent reported outside any turn (recorded, not shown)
    background_errors: int
    #: the agent answering now (:class:`AgentInfo` ``id``), ``None`` if unknown
    agent_id: str | None
    #: livekit-agents' ``AgentState`` (``"listening"``, ``"thinking"``, ...), or
    #: ``"disconnected"`` once the agent is gone
    agent_state: str
    #: whether the agent is connected
    agent_connected: bool
    #: the agent closed the session itself (``end_call``): gone, but not a crash
    call_ended: bool
    #: the agent's process id, ``None`` before it was spawned
    agent_pid: int | None
    #: its exit code once it exited, else ``None``
    agent_exit_code: int | None
    #: the turn running now
    turn_in_progress: str | None
    #: the turns waiting behind it, in order
    turns_queued: list[str]
    #: how many chat items the session has
    items: int
    #: how long the agent took to connect, ms (``None`` until it did)
    agent_boot_ms: float | None
    #: when the session started, Unix seconds
    started_at: float
    #: the agent's log file
    agent_log: str
    #: the session's event log (``events.jsonl``)
    event_log: str
    #: why the event log cannot be written now, ``None`` when it can
    event_log_error: str | None
    #: items waiting in memory to be written to the event log
    event_log_waiting: int


class DaemonStatus(SessionStatus):
    """The daemon's ``status`` answer (:meth:`parley.app.daemon.server.Daemon.status`):
    the :class:`SessionStatus` and the daemon's part. On the wire it is the object of
    ``{"event": "status", ...}``; clients read it with :func:`daemon_status`."""

    #: the daemon's process id
    daemon_pid: int
    #: the loopback port of its control channel
    control_port: int
    #: the daemon's own log file
    daemon_log: str
    #: the session's name (``--session``), ``None`` for the project's default session
    name: str | None
    #: turns finished (``turn_finished`` items)
    turns: int
    #: items no client was shown yet
    unseen_items: int
    #: seconds without use, s
    idle_s: float
    #: the idle timeout, s (0: none)
    idle_timeout_s: float
    #: whether the agent reloads when its sources change (``--watch``)
    watch: bool
    #: reloads done in watch mode
    reloads: int
    #: the agent log of the last failed reload, ``None`` when it succeeded
    reload_error: str | None


class Started(TypedDict):
    """An agent that is up: what ``parley start`` and ``parley restart`` print. Read
    from the daemon's answer with :func:`started`."""

    #: the agent answering (``get_agent_info``), ``None`` when the daemon sent none
    agent_info: AgentInfo | None
    #: its first chat items (the greeting...), as JSON objects
    #: (:func:`parley.app.protocol.items.item_from_dict` reads them)
    items: list[dict[str, Any]]


class Ready(Started):
    """The daemon's ready line (``{"ok": true, ...}`` on the pipe ``parley start``
    reads, :func:`parley.app.daemon.control.start_daemon`): the agent, and the status."""

    state: DaemonStatus


class Restarted(Started):
    """The daemon's ``restarted`` answer (``{"event": "restarted", ...}``)."""

    #: the command that runs the agent and why (:class:`SessionStatus` ``runtime``)
    runtime: str | None


def started(obj: dict[str, Any]) -> Started:
    """The :class:`Started` part of a daemon answer: its ``agent_info`` (checked by
    :func:`agent_info`; ``None`` when missing or empty) and the objects of its
    ``items`` (others dropped)."""
    info = obj.get("agent_info")
    items = obj.get("items")
    return {
        "agent_info": agent_info(info) if isinstance(info, dict) and info else None,
        "items": [i for i in items if isinstance(i, dict)] if isinstance(items, list) else [],
    }


def ready_line(obj: dict[str, Any]) -> Ready:
    """The :class:`Ready` in the daemon's ready line (its ``state`` checked by
    :func:`daemon_status`)."""
    state = obj.get("state")
    return {**started(obj), "state": daemon_status(state if isinstance(state, dict) else {})}


def restarted(obj: dict[str, Any]) -> Restarted:
    """The :class:`Restarted` in the daemon's ``restarted`` answer."""
    runtime = obj.get("runtime")
    return {**started(obj), "runtime": runtime if isinstance(runtime, str) else None}


class StopSummary(TypedDict, total=False):
    """What the daemon answers to ``stop`` (``{"event": "stopping", "summary": ...}``,
    :meth:`parley.app.daemon.ops.ControlOps.summary`) and ``parley stop`` prints. The
    daemon sends every field; a client prints the ones it got."""

    #: turns finished
    turns: int
    #: seconds since the session started, s
    seconds: float
    #: the agent in charge at the end, ``None`` if unknown
    agent_id: str | None
    #: the agent's log file
    agent_log: str
    #: the session's event log (the recording)
    event_log: str
    #: :class:`SessionHeader` ``session_id``
    session_id: str


def daemon_status(obj: dict[str, Any]) -> DaemonStatus:
    """The :class:`DaemonStatus` in a JSON object (the daemon's ``status`` answer).

    Each field of the shape is checked against its type; a missing or wrong one reads
    as empty (``None`` where the field may be ``None``, else ``""``, ``0``, ``False``,
    ``[]``), so a daemon of another parley version still gives a usable status. Keys
    the shape does not know (a newer daemon's) are kept as they are; ``event`` is
    dropped."""
    return cast(DaemonStatus, _conform(obj, DaemonStatus))


def stop_summary(obj: object) -> StopSummary:
    """The :class:`StopSummary` in ``obj`` (the ``summary`` of the daemon's ``stop``
    answer): the fields of their type, others dropped (``{}`` when ``obj`` is no
    object)."""
    if not isinstance(obj, dict):
        return {}
    return cast(StopSummary, _conform(obj, StopSummary))


_HINTS: dict[type, dict[str, Any]] = {}


def _conform(obj: dict[str, Any], shape: type) -> dict[str, Any]:
    """``obj`` with each field of the TypedDict ``shape`` of the right type: a required
    one missing or wrong reads as empty (see :func:`daemon_status`), an optional one
    wrong is dropped; other keys are kept, ``event`` aside."""
    hints = _HINTS.get(shape)
    if hints is None:
        hints = _HINTS[shape] = get_type_hints(shape)
    required: frozenset[str] = getattr(shape, "__required_keys__", frozenset())
    out = {k: v for k, v in obj.items() if k != "event"}
    for key, hint in hints.items():
        if key not in required:
            if key in out and not _matches(out[key], hint):
                del out[key]
        elif not _matches(out.get(key, _MISSING), hint):
            out[key] = _empty(hint)
    return out


_MISSING = object()


def _matches(value: object, hint: Any) -> bool:
    """Whether the JSON ``value`` is of the type ``hint`` (``str``, ``int``, ``float``,
    ``bool``, ``None``, ``list[...]`` and unions of them); an int is a float, a bool is
    no number."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, h) for h in get_args(hint))
    if origin is list:
        (arg,) = get_args(hint)
        return isinstance(value, list) and all(_matches(v, arg) for v in value)
    if hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(hint, type) and isinstance(value, hint)


def _empty(hint: Any) -> object:
    """The value a missing field of type ``hint`` reads as."""
    if get_origin(hint) in (Union, types.UnionType):
        args = get_args(hint)
        return None if type(None) in args else _empty(args[0])
    if get_origin(hint) is list:
        return []
    return {str: "", int: 0, float: 0.0, bool: False}.get(hint)
