"""The daemon's configuration: what ``parley start`` (and ``parley chat``, ``parley
rerun``) asks the detached daemon to run.

:func:`parley.app.daemon.control.start_daemon` writes it as one JSON argument of
``python -m parley.app.daemon.process``; the daemon reads it back with
:meth:`DaemonConfig.from_json` before anything else. Standard library only besides the
launcher (the daemon imports it before the agent is spawned).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from parley.app.agent.launcher import AgentSpec
from parley.app.protocol.shapes import SessionHeader


@dataclass(frozen=True)
class DaemonConfig:
    """One daemon's configuration (see the module docstring)."""

    #: the session's key (:func:`parley.app.daemon.state.session_key`): project + name
    key: str
    #: the session's name (``--session``), ``None`` for the project's default one
    name: str | None
    #: the project directory (resolved path)
    project: str
    #: the agent's entry file (resolved path)
    agent_file: str
    #: the runtime command prefix (:attr:`parley.app.agent.launcher.AgentSpec.runtime`)
    runtime: list[str]
    #: ``"python"`` or ``"node"``
    kind: str = "python"
    #: which runtime runs the agent and why (:attr:`AgentSpec.runtime_label`)
    runtime_label: str = ""
    #: the arguments given to the agent after ``--``
    extra_args: list[str] = field(default_factory=list)
    #: seconds to wait for the agent to connect
    connect_timeout: float = 60.0
    #: seconds without use before the daemon stops the session (0: never)
    idle_timeout: float = 0.0
    #: fields added to the event log's header (``parley rerun``: ``rerun_of``)
    header: SessionHeader = field(default_factory=lambda: cast(SessionHeader, {}))
    #: reload the agent when its project's sources change (``--watch``)
    watch: bool = False

    @classmethod
    def for_spec(
        cls,
        spec: AgentSpec,
        key: str,
        name: str | None,
        *,
        connect_timeout: float,
        idle_timeout: float,
        header: SessionHeader | None = None,
        watch: bool = False,
    ) -> DaemonConfig:
        """The configuration running ``spec`` as the session ``key``."""
        return cls(
            key=key,
            name=name,
            project=str(spec.project),
            agent_file=str(spec.agent_file),
            runtime=list(spec.runtime),
            kind=spec.kind,
            runtime_label=spec.runtime_label,
            extra_args=list(spec.extra_args),
            connect_timeout=connect_timeout,
            idle_timeout=idle_timeout,
            header=header or {},
            watch=watch,
        )

    def spec(self) -> AgentSpec:
        """The agent to run."""
        return AgentSpec(
            agent_file=Path(self.agent_file),
            project=Path(self.project),
            runtime=list(self.runtime),
            extra_args=tuple(self.extra_args),
            kind="node" if self.kind == "node" else "python",
            runtime_label=self.runtime_label,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DaemonConfig:
        """The configuration in ``text`` (as :meth:`to_json` wrote it). Raises
        ``ValueError`` naming the first field that is missing or of the wrong type."""
        obj = json.loads(text)
        if not isinstance(obj, dict):
            raise ValueError("the daemon configuration is not a JSON object")
        fields = _Fields(obj)
        return cls(
            key=fields.text("key"),
            name=fields.opt_text("name"),
            project=fields.text("project"),
            agent_file=fields.text("agent_file"),
            runtime=fields.strings("runtime"),
            kind=fields.text("kind", "python"),
            runtime_label=fields.text("runtime_label", ""),
            extra_args=fields.strings("extra_args", []),
            connect_timeout=fields.number("connect_timeout", 60.0),
            idle_timeout=fields.number("idle_timeout", 0.0),
            header=cast(SessionHeader, fields.get("header", dict, {})),
            watch=fields.get("watch", bool, False),
        )


T = TypeVar("T")


class _Fields:
    """The fields of a JSON object, each checked for its type (``ValueError`` names
    the first one missing or wrong); a field without a default is required."""

    def __init__(self, obj: dict[str, object]) -> None:
        self.obj = obj

    def get(self, name: str, kind: type[T], default: T | None = None) -> T:
        value = self.obj.get(name, default)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ValueError(f"the daemon configuration has no valid {name!r}")
        return value

    def text(self, name: str, default: str | None = None) -> str:
        return self.get(name, str, default)

    def opt_text(self, name: str) -> str | None:
        return None if self.obj.get(name) is None else self.text(name)

    def number(self, name: str, default: float) -> float:
        value = self.obj.get(name, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return self.get(name, float, default)

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.obj.get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"the daemon configuration has no valid {name!r}")
        return [v for v in value if isinstance(v, str)]
