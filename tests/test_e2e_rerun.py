"""End to end: `parley rerun` through the real CLI against the real demo agent.

A session of the demo agent is recorded once; it is rerun as it is (everything
matches), against a copy of the agent whose booking tool answers differently (turn 2
differs, named with both outputs), as a directory of recordings, and with bad usage.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO, Parley, copy_agent

pytestmark = pytest.mark.e2e

TURNS = [
    "what's the weather in Paris?",
    "look up booking ABC123",
    "look up booking ZZZ999",
    "billing",
    "balance",
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Parley, str, Path]]:
    """A recorded session of the demo agent: (parley, session id, its events.jsonl)."""
    home = tmp_path_factory.mktemp("parley-home")
    p = Parley(home)
    p("start", str(DEMO), check=True)
    try:
        for text in TURNS:
            p("say", text, check=True)
    finally:
        p("stop", check=True)
    (line,) = p("sessions", "--json", check=True).stdout.splitlines()
    info = json.loads(line)
    yield p, info["id"], Path(info["path"])
    p.stop_quietly()


@pytest.fixture(scope="module")
def changed_agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo agent whose lookup_booking returns three nights, not two."""
    agent = copy_agent(DEMO, tmp_path_factory.mktemp("changed"))
    src = agent.read_text()
    assert "two nights at the Harbor Hotel" in src
    agent.write_text(src.replace("two nights at the Harbor Hotel", "three nights at the Harbor"))
    return agent


def sessions(p: Parley) -> list[dict]:
    return [json.loads(x) for x in p("sessions", "--json", check=True).stdout.splitlines()]


def test_rerun_of_an_unchanged_agent_passes_and_is_recorded(recorded, tmp_path: Path) -> None:
    p, sid, _ = recorded
    junit = tmp_path / "report.xml"
    before = {s["id"] for s in sessions(p)}
    proc = p("rerun", sid, "--check", "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # --check: no lines for matching turns, only the header and the summary
    assert "= turn" not in proc.stdout
    assert f"PASS {sid}: 5 of 5 turns match" in proc.stdout
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1"
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    (case,) = suite.iter("testcase")
    assert case.get("name") == sid and case.find("failure") is None
    # the rerun is itself a recorded session whose header names the recording
    (new,) = [s for s in sessions(p) if s["id"] not in before]
    assert f"rerun recorded as {new['id']}" in proc.stdout
    header = json.loads(Path(new["path"]).read_text().splitlines()[0])
    assert header["rerun_of"]["session_id"] == sid
    assert new["turns"] == 5
    replay = p("replay", new["id"], "--headless", "--speed", "0", check=True)
    assert "Your booking ABC123 is two nights at the Harbor Hotel" in replay.stdout
    # nothing left running: no state for the rerun's session
    assert not list((p.home / "run").glob("*/state.json"))


def test_rerun_against_a_changed_tool_names_the_turn_tool_and_outputs(
    recorded, changed_agent: Path
) -> None:
    p, sid, _ = recorded
    proc = p("rerun", sid, "--agent", str(changed_agent))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "= turn 1  what's the weather in Paris?" in out
    assert "✗ turn 2  look up booking ABC123" in out
    assert "> tool lookup_booking: output differs" in out
    assert "recorded: two nights at the Harbor Hotel, checking in on June 3." in out
    assert "now:      three nights at the Harbor, checking in on June 3." in out
    # the default comparison ignores the text, so later turns match, after a divergence
    assert "= turn 3  look up booking ZZZ999  (after a divergence)" in out
    assert f"FAIL {sid}: 4 of 5 turns match, 1 differ; first difference at turn 2" in out


def test_rerun_json_junit_and_fail_fast(recorded, changed_agent: Path, tmp_path: Path) -> None:
    p, sid, _ = recorded
    junit = tmp_path / "report.xml"
    proc = p(
        "rerun", sid, "--agent", str(changed_agent), "--json", "--fail-fast", "--junit", str(junit)
    )
    assert proc.returncode == 1, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    turns = [o for o in objs if o["type"] == "turn"]
    (summary,) = [o for o in objs if o["type"] == "summary"]
    assert objs[-1] is summary
    assert [(t["turn"], t["outcome"]) for t in turns] == [
        (0, "match"),
        (1, "match"),
        (2, "differ"),
        (3, "not_run"),
        (4, "not_run"),
        (5, "not_run"),
    ]
    (d,) = turns[2]["differences"]
    assert d == {
        "what": "changed",
        "label": "tool lookup_booking",
        "field": "output",
        "recorded": "two nights at the Harbor Hotel, checking in on June 3.",
        "now": "three nights at the Harbor, checking in on June 3.",
    }
    assert turns[3]["after_divergence"] and "--fail-fast" in turns[3]["note"]
    assert summary["ok"] is False and summary["first_divergence"] == 2
    assert summary["differ"] == 1 and summary["not_run"] == 3 and summary["recording"] == sid
    case = ET.parse(junit).getroot().find("testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "turn 2 differs"
    assert "three nights at the Harbor" in (failure.text or "")


def test_rerun_a_directory_of_recordings(recorded, tmp_path: Path) -> None:
    p, _, events = recorded
    folder = tmp_path / "conversations"
    folder.mkdir()
    shutil.copy(events, folder / "first.jsonl")
    shutil.copy(events, folder / "second.jsonl")
    proc = p("rerun", str(folder), "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS ") == 2
    assert "2 of 2 recordings pass" in proc.stdout


def test_rerun_usage_errors(recorded, tmp_path: Path) -> None:
    p, sid, _ = recorded
    proc = p("rerun", "no-such-session")
    assert proc.returncode == 2 and "no recorded session" in proc.stderr
    proc = p("rerun", sid, "--compare", "tools,speech")
    assert proc.returncode == 2 and "speech" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = p("rerun", str(empty))
    assert proc.returncode == 2 and "no recordings" in proc.stderr
    assert p("rerun").returncode == 2


def test_rerun_of_a_node_agent_recording(node_agent: Path, parley_home: Path) -> None:
    p = Parley(parley_home, cwd=node_agent)
    p("start", "agent.mjs", check=True)
    try:
        for text in TURNS[:3]:
            p("say", text, check=True)
    finally:
        p("stop", check=True)
    (line,) = p("sessions", "--json", check=True).stdout.splitlines()
    sid = json.loads(line)["id"]
    proc = p("rerun", sid)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "agent.mjs" in proc.stdout and f"PASS {sid}: 3 of 3 turns match" in proc.stdout
