"""The agent's own log in the chat UI: the F4 pane, the crash banner and the "Not sent"
row show LiveKit's console log (``\\n\\r`` line ends, ANSI colour) one line per log line,
colours rendered, no escape code on screen, and the SVG screenshot stays valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from test_tui_snapshots import settled
from test_tui_support import RECORDING, SIZE, notices, shown, wait_until

from parley.app.backend import BackendError, ItemsBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.widgets.app import make_app
from parley.widgets.log_pane import AgentLogPane

# what livekit-agents 1.8.9 writes in console mode (cli/log.py), plus a bell, a cursor
# movement and a line far too long for any pane
CONSOLE_LOG = (
    "\r00:45:01 \x1b[32mINFO\x1b[0m livekit.agents starting worker "
    '\x1b[90m{"version": "1.8.9"}\x1b[0m\n'
    "\r00:45:02 \x1b[31mERROR\x1b[0m livekit.agents exception occurred while executing tool "
    '\x1b[90m{"function": "check_stock"}\x1b[0m\n'
    "Traceback (most recent call last):\n"
    '  File "agent.py", line 51, in _query\n'
    "RuntimeError: inventory database unreachable\x07\n"
    "\r00:45:03 \x1b[36mDEBUG\x1b[0m livekit.agents moved \x1b[2J\x1b[10;1Hcursor\n"
    "\r00:45:04 \x1b[36mDEBUG\x1b[0m livekit.agents big " + "x" * 2000 + "\n"
)
PLAIN = [
    '00:45:01 INFO livekit.agents starting worker {"version": "1.8.9"}',
    "00:45:02 ERROR livekit.agents exception occurred while executing tool "
    '{"function": "check_stock"}',
    "Traceback (most recent call last):",
    '  File "agent.py", line 51, in _query',
    "RuntimeError: inventory database unreachable\\x07",
    "00:45:03 DEBUG livekit.agents moved cursor",
]


def assert_valid_svg(app: Any) -> str:
    svg = app.export_screenshot()
    ET.fromstring(svg)  # raises on a control character (PCDATA invalid Char value 27)
    return svg


class LiveItems(ItemsBackend):
    """Recorded items, presented as a live session with an agent log."""

    is_replay = False


class DeadAgent(LiveItems):
    async def agent_alive(self) -> bool:
        return False


class RefusingAgent(LiveItems):
    """The agent is gone: a turn is refused with the log's tail, as the daemon does."""

    async def say(self, text: str) -> str:
        raise BackendError(
            "\x1b[31mthe agent exited\x1b[0m with code 1. Last lines of agent.log:\n"
            + CONSOLE_LOG.split("Traceback")[0]
        )


def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent.log"
    path.write_bytes(CONSOLE_LOG.encode())
    return path


async def test_log_pane_one_row_per_log_line_with_colours(tmp_path: Path) -> None:
    log = log_file(tmp_path)
    app = make_app(LiveItems(read_log(RECORDING).items, agent_log=log), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set(), what="items shown")
        await pilot.press("f4")
        pane = app.query_one(AgentLogPane)
        await wait_until(pilot, lambda: pane.line_count == 7, what="log lines")
        assert pane.plain_lines[:6] == PLAIN
        assert pane.plain_lines[6].endswith("… (+1534 chars)")  # cut at 500 characters
        # one row per log line (no blank rows from \n\r), no escape left
        rows = ["".join(seg.text for seg in strip) for strip in pane.lines]
        assert len(rows) == 7 and all(r.strip() for r in rows)
        assert not any("\x1b" in r or "\r" in r or "\x07" in r for r in rows)
        # colours rendered: ERROR in the agent's red
        error_row = pane.lines[1]
        red = [seg for seg in error_row if seg.text == "ERROR"]
        assert red and red[0].style is not None and red[0].style.color is not None
        assert red[0].style.color.name in ("red", "color(1)")
        # appended lines arrive one per line too, also when a write splits \n and \r
        with open(log, "ab") as f:
            f.write(b"\r00:45:05 \x1b[32mINFO\x1b[0m livekit.agents later\n")
        await wait_until(pilot, lambda: pane.line_count == 8, what="appended line")
        with open(log, "ab") as f:
            f.write(b"\r00:45:06 \x1b[32mINFO\x1b[0m livekit.agents latest\n")
        await wait_until(pilot, lambda: pane.line_count == 9, what="appended line")
        assert pane.plain_lines[-2:] == [
            "00:45:05 INFO livekit.agents later",
            "00:45:06 INFO livekit.agents latest",
        ]
        svg = assert_valid_svg(app)
        assert "Traceback" in svg.replace("&#160;", " ")


async def test_log_pane_follows_a_truncated_or_replaced_log(tmp_path: Path) -> None:
    """A log truncated, or replaced by a longer one (a rotation, a file created again),
    is shown from its start: never from the old file's offset, never stuck."""
    log = tmp_path / "agent.log"
    log.write_bytes(b"old 1\nold 2\nold 3\n")
    app = make_app(LiveItems(read_log(RECORDING).items, agent_log=log), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set(), what="items shown")
        await pilot.press("f4")
        pane = app.query_one(AgentLogPane)
        await wait_until(pilot, lambda: pane.line_count == 3, what="log lines")
        new = tmp_path / "agent.log.new"
        new.write_bytes(b"".join(b"replaced %d\n" % i for i in range(6)))
        new.replace(log)  # longer than the old file: same size checks cannot tell
        await wait_until(pilot, lambda: pane.line_count == 9, what="the new log")
        assert pane.plain_lines[3:] == [f"replaced {i}" for i in range(6)]
        log.write_bytes(b"truncated\n")
        await wait_until(pilot, lambda: pane.line_count == 10, what="the truncated log")
        assert pane.plain_lines[-1] == "truncated"
        # hidden, it reads nothing; shown again, it reads on from where it was
        await pilot.press("f4")
        await wait_until(pilot, lambda: not pane.display, what="pane hidden")
        with open(log, "ab") as f:
            f.write(b"while hidden\n")
        await pilot.press("f4")
        await wait_until(pilot, lambda: pane.line_count == 11, what="the line written meanwhile")
        assert pane.plain_lines[-1] == "while hidden"


async def test_crash_banner_shows_the_log_tail_line_by_line(tmp_path: Path) -> None:
    items = read_log(RECORDING).items
    last = items[-1]
    died = it.AgentError(message="the agent exited with code -9", seq=last.seq + 1, ts=last.ts)
    app = make_app(DeadAgent([*items, died], agent_log=log_file(tmp_path)), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.banner.display, what="crash banner")
        text = app.banner.text
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text
        lines = text.splitlines()
        for line in PLAIN[1:]:
            assert line in lines
        # no blank line between log lines
        start = lines.index(PLAIN[1])
        assert all(ln.strip() for ln in lines[start : start + 5])
        tail = shown(app, "#banner-tail")
        spans = [s for s in tail.spans if "red" in str(s.style) or "color(1)" in str(s.style)]
        assert spans  # the ERROR level keeps its colour
        assert_valid_svg(app)


async def test_not_sent_row_renders_the_quoted_log(tmp_path: Path) -> None:
    app = make_app(RefusingAgent(read_log(RECORDING).items, agent_log=None), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set(), what="items shown")
        app.prompt.focus()
        app.prompt.insert("are you there?")
        await pilot.press("enter")
        notice = await wait_until(
            pilot,
            lambda: next((n for n in notices(app) if "Not sent" in n.plain), None),
            what="not sent row",
        )
        plain = notice.plain
        assert "\x1b" not in plain and "\r" not in plain and "\ufffd" not in plain
        assert "[31m" not in plain and "[0m" not in plain
        assert plain.splitlines()[0] == (
            "✗ Not sent: The agent exited with code 1. Last lines of agent.log:"
        )
        assert_valid_svg(app)


def test_snapshot_crash_banner_and_log_pane_with_ansi(snap_compare: Any, tmp_path: Path) -> None:
    """The agent died with LiveKit's coloured console log: the banner's tail and the F4
    pane show one line per log line, in the log's colours, nothing of the escapes."""
    items = read_log(RECORDING).items
    last = items[-1]
    died = it.AgentError(message="the agent exited with code -9", seq=last.seq + 1, ts=last.ts)
    app = make_app(DeadAgent([*items, died], agent_log=log_file(tmp_path)), frozen=True)

    async def crashed(pilot: Any) -> None:
        await wait_until(pilot, lambda: pilot.app.banner.display, what="banner")
        await pilot.press("f4")
        pane = pilot.app.query_one(AgentLogPane)
        await wait_until(pilot, lambda: pane.line_count == 7, what="log lines")
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=crashed)
