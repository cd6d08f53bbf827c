"""Node agents through the real CLI: the @livekit/agents 1.9.0 demo agent
(``testdata/agents/node``, plain ESM JavaScript, scripted model) and its TypeScript entry
in the starter template's layout (``src/main.ts``, run by the ``dev`` script).

Skipped, with the reason in pytest's summary, when Node >= 20 is not installed; the
``node_agent`` fixture runs ``npm ci`` once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conftest import DEMO, Parley, wait_until

pytestmark = pytest.mark.e2e

#: turns both demo agents answer the same way, in this order
SAME_TURNS = [
    "what's the weather in San Francisco?",
    "look up booking ZZZ999",
    "please connect me to billing",
    "what's my balance?",
]


def json_items(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def boot_text(start_out: str) -> str:
    """What ``start`` printed after its header (file, runtime, agent, tools)."""
    lines = start_out.splitlines(keepends=True)
    assert [ln[:12] for ln in lines[:4]] == [
        "Agent file: ",
        "Runtime:    ",
        "Agent:      ",
        "Tools:      ",
    ]
    return "".join(lines[4:])


def group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (OSError, psutil.Error):
            continue
    return alive


@pytest.fixture
def python_demo(tmp_path: Path) -> Iterator[tuple[Parley, str]]:
    p = Parley(tmp_path / "py-home")
    p.home.mkdir()
    try:
        started = p("start", str(DEMO), check=True)
        yield p, started.stdout
    finally:
        p.stop_quietly()


def test_node_demo_end_to_end(
    node_agent: Path, tmp_path: Path, python_demo: tuple[Parley, str]
) -> None:
    home = tmp_path / "node-home"
    home.mkdir()
    p = Parley(home, node_agent)
    try:
        started = p("start", "agent.mjs", check=True)
        assert f"Agent file: {node_agent / 'agent.mjs'}" in started.stdout
        assert "(node v" in started.stdout and "@livekit/agents 1.9.0)" in started.stdout
        assert "Agent:      concierge\n" in started.stdout
        status = json.loads(p("status", "--json", check=True).stdout)
        assert status["framework"] == "js" and status["agent_kind"] == "node"
        agent_pid = status["agent_pid"]

        # rendered exactly as the Python demo renders the same conversation: the first
        # agent line before the greeting, unquoted tool outputs, the failing tool, the
        # handoff with the new agent's greeting
        py, py_started = python_demo
        assert boot_text(started.stdout) == boot_text(py_started)
        assert boot_text(started.stdout).startswith("\n  ● agent: concierge\n\n  ● Agent\n")
        said = {}
        for text in SAME_TURNS[:2]:
            node_out, py_out = p("say", text), py("say", text)
            assert (node_out.returncode, node_out.stdout) == (py_out.returncode, py_out.stdout)
            said[text] = node_out.stdout
        assert "✓ sunny with a temperature of 70 degrees." in said[SAME_TURNS[0]]
        assert "✗ No booking found with number ZZZ999." in said[SAME_TURNS[1]]

        # a turn with nothing to say ends ok, with the reason in JSON
        shh = p("say", "--json", "shh")
        assert shh.returncode == 0, shh.stderr
        last = json_items(shh.stdout)[-1]
        assert last["type"] == "turn_finished" and last["status"] == "ok"
        assert last["reason"] == "agent produced no response items"

        # --json: a call appears twice, paired by call_id; Node sends no start event,
        # so the duration is unknown (null), never 0.0
        objs = json_items(p("say", "--json", "look up booking ABC123", check=True).stdout)
        calls = [o for o in objs if o["type"] == "tool_call"]
        assert [c["status"] for c in calls] == ["running", "done"]
        assert calls[0]["call_id"] == calls[1]["call_id"] and calls[1]["name"] == "lookup_booking"
        assert calls[1]["output"] == "two nights at the Harbor Hotel, checking in on June 3."
        assert [c["duration_ms"] for c in calls] == [None, None]
        reply = [o for o in objs if o["type"] == "agent_message"]
        assert reply[-1]["agent_id"] == "concierge"
        assert objs[-1]["type"] == "turn_finished" and objs[-1]["status"] == "ok"

        for text in SAME_TURNS[2:]:
            node_out, py_out = p("say", text), py("say", text)
            assert (node_out.returncode, node_out.stdout) == (py_out.returncode, py_out.stdout)
            said[text] = node_out.stdout
        handoff = said[SAME_TURNS[2]]
        assert "● handoff: concierge → billing" in handoff
        assert "Hi, this is billing." in handoff
        assert "✓ $42.00" in said[SAME_TURNS[3]] and '"$42.00"' not in said[SAME_TURNS[3]]

        back = p("say", "concierge", check=True)
        assert "● handoff: billing → concierge" in back.stdout
        # cancel: a say waiting on a slow tool exits 130 when the turn is cancelled
        slow = p.popen("say", "slow 8")  # long enough to be running at the cancel
        wait_until(
            lambda: json.loads(p("status", "--json").stdout or "{}").get("turn_in_progress"),
            timeout=60,
        )
        assert p("cancel", check=True).stdout.startswith("cancelled: ")
        out, _ = slow.communicate(timeout=60)
        assert slow.returncode == 130 and "turn cancelled" in out

        # the next turn waits for the cancelled run (a Node agent refuses a nested run)
        after = p("say", "what's the weather in Paris?", check=True)
        assert "The weather in Paris is sunny" in after.stdout
    finally:
        stopped = p("stop", timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert not psutil.pid_exists(agent_pid) or psutil.Process(agent_pid).status() == "zombie"
    assert group_alive(agent_pid) == []


def test_typescript_entry_from_the_root_and_from_src(node_agent: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    root, src = Parley(home, node_agent), Parley(home, node_agent / "src")
    main_ts = node_agent / "src" / "main.ts"
    try:
        started = root("start", check=True)  # no arguments: the dev script's file
        assert f"Agent file: {main_ts}\n" in started.stdout
        assert "tsx" in started.stdout.splitlines()[1]  # Node 20 runs TypeScript via tsx
        assert "\n  ● agent: concierge\n" in started.stdout
        said = src("say", "look up booking ABC123", check=True)  # later commands from src/
        assert "✓ two nights at the Harbor Hotel" in said.stdout
        pid = json.loads(src("status", "--json", check=True).stdout)["agent_pid"]
        assert Path(os.readlink(f"/proc/{pid}/cwd")) == node_agent  # run from the root
        src("stop", check=True)
        assert group_alive(pid) == []

        started = src("start", check=True)  # from src/: the same project and entry
        assert f"Agent file: {main_ts}\n" in started.stdout
        st = json.loads(root("status", "--json", check=True).stdout)
        assert st["project"] == str(node_agent)
    finally:
        root("stop", timeout=60)
