"""End to end: record a real session of the demo agent with the real CLI, then replay
and export it with no agent running.

``parley replay --headless`` prints what ``start`` and every ``say`` printed, minus
``start``'s "Agent file/Agent/Tools" lines and its "Session started." line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import DEMO, Parley

TURNS = [
    "what's the weather in San Francisco?",
    "look up booking ABC123",
    "look up booking ZZZ999",
    "please <b>help</b> & [bold]me[/bold]",
    "explode",
    "billing",
    "balance",
    "concierge",
]
START_HEAD = ("Agent file: ", "Runtime:    ", "Agent:      ", "Tools:      ")
START_TAIL = "\nSession started.\n"


def _said(start_out: str, say_outs: list[str]) -> str:
    """What the session printed to a person: boot items, then every turn."""
    lines = start_out.splitlines(keepends=True)
    assert [ln[:12] for ln in lines[: len(START_HEAD)]] == list(START_HEAD)
    boot = "".join(lines[len(START_HEAD) :])
    assert boot.endswith(START_TAIL)
    return boot[: -len(START_TAIL)] + "".join(say_outs)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Parley, str]]:
    """A finished session of the demo agent: the CLI in its home, and the text that
    start + say printed during it."""
    p = Parley(tmp_path_factory.mktemp("parley-home"))
    try:
        start = p("start", str(DEMO), check=True)
        outs = []
        for text in TURNS:
            proc = p("say", text)
            assert proc.returncode == (1 if text == "explode" else 0), proc.stderr
            outs.append(proc.stdout)
            time.sleep(0.2)  # a pause worth replaying
    finally:
        p.stop_quietly()
    yield p, _said(start.stdout, outs)


@pytest.mark.e2e
def test_replay_headless_matches_what_say_printed(recorded: tuple[Parley, str]) -> None:
    p, said = recorded
    assert (
        "  ✗ model error: scripted model failure (HTTP 500)" in said
    )  # the failed turn is recorded too
    replay = p("replay", "--headless", "--speed", "0", check=True)
    assert replay.stdout == said
    assert replay.stdout.count("● You") == len(TURNS)


@pytest.mark.e2e
def test_replay_at_speed_keeps_the_pauses(recorded: tuple[Parley, str]) -> None:
    p, said = recorded
    t0 = time.monotonic()
    fast = p("replay", "--headless", "--speed", "4", check=True)
    elapsed = time.monotonic() - t0
    assert fast.stdout == said
    # 7 recorded pauses of >= 0.2 s between turns, at 4x: >= 0.35 s of waiting
    assert elapsed >= 0.35


@pytest.mark.e2e
def test_sessions_lists_the_recording(recorded: tuple[Parley, str]) -> None:
    p, _ = recorded
    rows = [json.loads(ln) for ln in p("sessions", "--json", check=True).stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["agent_id"] == "concierge" and row["turns"] == len(TURNS)
    assert row["agent_file"] == str(DEMO) and row["size"] == Path(row["path"]).stat().st_size
    table = p("sessions", check=True).stdout
    assert row["id"] in table and "concierge" in table
    by_id = p("history", row["id"][:15], check=True).stdout
    assert by_id == p("replay", "--headless", "--speed", "0", row["id"], check=True).stdout


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@pytest.mark.e2e
def test_exports_of_the_recording(recorded: tuple[Parley, str], tmp_path: Path) -> None:
    p, said = recorded
    md = p("export", "--format", "md", check=True).stdout
    html_file, cast_file = tmp_path / "s.html", tmp_path / "s.cast"
    p("export", "-o", str(html_file), check=True)
    p("export", "-o", str(cast_file), "--no-color", "--cols", "200", check=True)
    page = _Text()
    page.feed(html_file.read_text())
    text = "".join(page.parts)
    for turn in TURNS:
        assert turn in text
        if "<" not in turn:
            assert turn in md
    for tool in ("lookup_weather", "lookup_booking", "transfer_to_billing", "check_balance"):
        assert re.search(rf"<summary>[✓✗] {tool}\b", md) and f"{tool}" in text
    assert md.count("<details>") == page.tags.count("details") == 6
    assert "handoff: concierge → billing" in md and "handoff: concierge → billing" in text
    lines = cast_file.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(ln) for ln in lines[1:]]
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    # what `say` printed, with each reply labelled by the agent that spoke it (at 200
    # columns nothing wraps)
    cast = "".join(e[2] for e in events).replace("\r\n", "\n")
    assert "● concierge\n" in cast and "● billing\n" in cast
    assert re.sub(r"● (concierge|billing)\n", "● Agent\n", cast) == said
    stored = p("export", "--format", "json", check=True).stdout.splitlines()
    assert json.loads(stored[0])["type"] == "session" and len(stored) > len(TURNS) * 5
