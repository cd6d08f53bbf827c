"""End to end: `parley start --watch` reloads the real demo agent as its file is edited.

An edit changes the next turn's answer with no command; a turn running during a reload
ends as an error saying so; a syntax error (and an agent that fails at import) keeps
the session and the previous agent, and the next good save recovers.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from conftest import DEMO, Parley, copy_agent, wait_until

pytestmark = pytest.mark.e2e

TWO = "two nights at the Harbor Hotel"
THREE = "three nights at the Harbor Hotel"


def reloads(p: Parley) -> list[dict]:
    out = p("events", "--json", check=True).stdout.splitlines()
    return [o for o in map(json.loads, out) if o["type"] == "reload"]


def status(p: Parley) -> dict:
    return json.loads(p("status", "--json", check=True).stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "watched"\n')
    copy_agent(DEMO, root)
    return root


def test_watch_reloads_on_save_and_survives_broken_saves(parley_home: Path, project: Path):
    agent = project / DEMO.name  # the packaged demo agent, copied
    p = Parley(parley_home, cwd=project)
    try:
        started = p("start", "--watch", str(agent), check=True)
        assert f"Watching {project} for changes." in started.stdout
        assert status(p)["watch"] is True
        assert TWO in p("say", "look up booking ABC123", check=True).stdout

        # an edit: the next turn answers with the new code, no command needed
        edit(agent, TWO, THREE)
        (r1,) = wait_until(lambda: reloads(p), timeout=90)
        assert r1["files"] == [DEMO.name] and r1["error"] is None
        assert r1["warm"] is True  # the spare interpreter took it
        assert r1["agent_pid"] == status(p)["agent_pid"] and r1["duration_ms"] > 0
        say = p("say", "look up booking ABC123", check=True)
        assert THREE in say.stdout and TWO not in say.stdout

        # a turn running during a reload ends as an error that says so
        slow = p.popen("say", "slow 60")
        wait_until(lambda: status(p)["turn_in_progress"], timeout=30)
        edit(agent, THREE, TWO)
        out, err = slow.communicate(timeout=120)
        assert slow.returncode == 1
        assert f"the agent was reloaded ({DEMO.name}) while this turn ran" in out
        wait_until(lambda: len(reloads(p)) == 2, timeout=90)
        assert TWO in p("say", "look up booking ABC123", check=True).stdout

        # a syntax error: shown, the session and the previous agent go on
        pid = status(p)["agent_pid"]
        edit(agent, "server = AgentServer()", "server = AgentServer(")
        wait_until(lambda: len(reloads(p)) == 3, timeout=90)
        bad = reloads(p)[-1]
        assert bad["agent_pid"] is None and "SyntaxError" in bad["error"]
        st = status(p)
        assert "SyntaxError" in st["reload_error"] and st["agent_pid"] == pid
        text_status = p("status", check=True).stdout
        assert "reload error:" in text_status and "SyntaxError" in text_status
        assert TWO in p("say", "look up booking ABC123", check=True).stdout

        # an agent that fails while importing: same, with its traceback
        edit(
            agent,
            "server = AgentServer(",
            'raise RuntimeError("broken on purpose")\nserver = AgentServer()',
        )
        wait_until(lambda: len(reloads(p)) == 4, timeout=90)
        assert "RuntimeError: broken on purpose" in reloads(p)[-1]["error"]
        assert status(p)["agent_pid"] == pid

        # the next good save recovers
        fixed = agent.read_text().replace('raise RuntimeError("broken on purpose")\n', "")
        agent.write_text(fixed.replace(TWO, THREE))
        wait_until(lambda: reloads(p)[-1]["error"] is None and len(reloads(p)) >= 5, timeout=90)
        assert status(p)["reload_error"] is None
        assert THREE in p("say", "look up booking ABC123", check=True).stdout
    finally:
        p.stop_quietly()
    assert p("status").returncode == 1
    # neither an agent nor a spare interpreter is left running
    assert not [
        proc.pid
        for proc in psutil.process_iter(["cmdline"])
        if str(agent) in (proc.info["cmdline"] or [])
    ]
