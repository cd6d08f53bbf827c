"""The typed seams: the JSON shapes checked where they come off the wire (the daemon's
``status`` answer, its ``stop`` summary, the daemon's configuration), and the chat app
as the host its mixins take it for."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, get_type_hints

import pytest

from parley.app.agent.launcher import AgentSpec
from parley.app.backend import ItemsBackend
from parley.app.daemon.config import DaemonConfig
from parley.app.protocol.shapes import (
    DaemonStatus,
    SessionStatus,
    daemon_status,
    ready_line,
    restarted,
    stop_summary,
)
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.host import ChatAppHost


def test_daemon_status_keeps_good_fields_and_empties_bad_ones() -> None:
    st = daemon_status(
        {
            "event": "status",
            "session_id": "s1",
            "agent_pid": 12,
            "agent_exit_code": "x",  # wrong: reads as None
            "agent_connected": 1,  # an int is no bool
            "turns_queued": ["t1", 2],  # not all strings
            "idle_s": 3,  # an int is a float
            "turns": True,  # a bool is no int
            "newer_field": {"kept": True},
        }
    )
    assert "event" not in st
    assert st["session_id"] == "s1"
    assert st["agent_pid"] == 12
    assert st["agent_exit_code"] is None
    assert st["agent_connected"] is False
    assert st["turns_queued"] == []
    assert st["idle_s"] == 3
    assert st["turns"] == 0
    assert st["project"] == ""  # missing: empty of its type
    assert st["reload_error"] is None  # missing and optional: None
    assert st.get("newer_field") == {"kept": True}
    assert set(get_type_hints(DaemonStatus)) <= set(st)
    assert set(get_type_hints(SessionStatus)) < set(get_type_hints(DaemonStatus))


def test_stop_summary_drops_wrong_fields_only() -> None:
    assert stop_summary(None) == {}
    assert stop_summary({"turns": 2, "seconds": "long", "agent_id": None}) == {
        "turns": 2,
        "agent_id": None,
    }


def test_started_answers_keep_the_agent_and_item_objects() -> None:
    info = {"id": "concierge", "instructions": "be nice", "tools": ["book"]}
    greeting = {"type": "agent_message", "text": "hi"}
    ready = ready_line(
        {"ok": True, "state": {"session_id": "s1"}, "agent_info": info, "items": [greeting, 3]}
    )
    assert ready["agent_info"] == info
    assert ready["items"] == [greeting]
    assert ready["state"]["session_id"] == "s1"
    assert ready["state"]["agent_pid"] is None
    again = restarted({"event": "restarted", "agent_info": {}, "runtime": 7})
    assert again == {"agent_info": None, "items": [], "runtime": None}
    assert restarted({"agent_info": None, "runtime": "python3"})["runtime"] == "python3"


def test_daemon_config_round_trip() -> None:
    spec = AgentSpec(Path("/p/agent.py"), Path("/p"), ["python3"], ("--x",), "python", "uv")
    cfg = DaemonConfig.for_spec(
        spec,
        "key1",
        None,
        connect_timeout=5,
        idle_timeout=0,
        header={"rerun_of": {"session_id": "s", "path": "/e"}},
        watch=True,
    )
    back = DaemonConfig.from_json(cfg.to_json())
    assert back == cfg
    assert back.spec() == spec
    assert isinstance(back.connect_timeout, float)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"name": null}',  # no key
        '{"key": "k", "project": "/p", "agent_file": "/p/a.py", "runtime": ["py", 3]}',
        '{"key": "k", "project": "/p", "agent_file": "/p/a.py", "runtime": [], "watch": 1}',
        '{"key": "k", "project": "/p", "agent_file": "/p/a.py", "runtime": [], '
        '"idle_timeout": true}',
    ],
)
def test_daemon_config_names_a_bad_field(text: str) -> None:
    with pytest.raises(ValueError, match="daemon configuration"):
        DaemonConfig.from_json(text)


def _members(proto: type) -> set[str]:
    return {
        name
        for klass in proto.__mro__
        if klass not in (object, Protocol) and Protocol in klass.__bases__
        for name in (*vars(klass), *getattr(klass, "__annotations__", {}))
        if not name.startswith("__")
        and name not in ("_is_protocol", "_is_runtime_protocol", "_abc_impl")
    }


def test_the_chat_app_is_its_mixins_host() -> None:
    #: mypy (``mypy tests``) proves the protocol here, member by member
    host: type[ChatAppHost] = ParleyApp
    app = make_app(ItemsBackend([]))
    members = _members(ChatAppHost)
    assert {"backend", "panes", "action_toggle_pane", "query_one"} <= members
    # what mypy cannot see: the attributes set in __init__ are there at run time
    missing = sorted(m for m in members if not hasattr(host, m) and m not in vars(app))
    assert missing == []
