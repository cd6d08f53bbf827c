"""Recordings without an agent: finding sessions, loading logs, replay pacing, exports.

The fixture ``testdata/recordings/rec_demo.jsonl`` is a real session of the demo
agent (7 turns: weather, two bookings, a message full of markup, billing handoff,
balance, back to the concierge); ``rec_truncated.jsonl`` is the same log cut in the
middle of its last line, ``rec_newer_schema.jsonl`` claims schema 99.
"""

from __future__ import annotations

import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from parley.app.cli.commands import cli
from parley.app.protocol import items as it
from parley.app.session import replay
from parley.app.session.eventlog import LogFormatError, read_log
from parley.app.session.recordings import (
    RecordingNotFound,
    human_size,
    list_sessions,
    resolve,
    summarize,
)
from parley.app.session.replay import play, schedule
from parley.headless.cast import wrap
from parley.headless.export import to_cast, to_html, to_jsonl, to_markdown
from parley.headless.render import TextRenderer

ROOT = Path(__file__).resolve().parent.parent
RECS = ROOT / "testdata" / "recordings"
DEMO = RECS / "rec_demo.jsonl"
MARKUP = "please <b>help</b> & [bold]me[/bold]"


@pytest.fixture(scope="module")
def demo() -> object:
    return read_log(DEMO)


def _text(rec: object) -> str:
    r = TextRenderer()
    return "".join(r.render(i) for i in rec.items)  # type: ignore[attr-defined]


def _install(home: Path, session_id: str, project: Path, started_at: float) -> Path:
    """Put a copy of rec_demo.jsonl into ``home`` as session ``session_id``."""
    d = home / "data" / "sessions" / session_id
    d.mkdir(parents=True)
    lines = DEMO.read_text().splitlines(keepends=True)
    head = json.loads(lines[0])
    head.update(session_id=session_id, project=str(project), started_at=started_at)
    (d / "events.jsonl").write_text(json.dumps(head) + "\n" + "".join(lines[1:]))
    return d


# -- loading ------------------------------------------------------------------------


def test_demo_recording_is_self_describing(demo: object) -> None:
    h = demo.header  # type: ignore[attr-defined]
    assert h["type"] == "session" and h["schema"] == it.SCHEMA_VERSION
    assert h["agent_id"] == "concierge" and h["agent_file"].endswith("demo.py")
    assert h["parley_version"] and h["started_at"] > 1.7e9
    users = [i.text for i in demo.items if isinstance(i, it.UserMessage)]  # type: ignore[attr-defined]
    assert len(users) == 7 and MARKUP in users


def test_truncated_recording_loads_everything_before_the_cut(demo: object) -> None:
    rec = read_log(RECS / "rec_truncated.jsonl")
    assert rec.truncated
    assert [i.seq for i in rec.items] == [i.seq for i in demo.items[:-1]]  # type: ignore[attr-defined]
    assert isinstance(demo.items[-1], it.TurnFinished)  # type: ignore[attr-defined]


def test_newer_schema_fails_with_a_clear_message() -> None:
    with pytest.raises(LogFormatError, match=r"schema 99.*upgrade parley"):
        read_log(RECS / "rec_newer_schema.jsonl")


def test_older_header_without_optional_fields_loads(tmp_path: Path) -> None:
    """An older writer's header (schema 0, no parley_version/agent fields) and items
    without a ``v`` field still load."""
    f = tmp_path / "old.jsonl"
    f.write_text(
        '{"type": "session", "schema": 0}\n'
        '{"type":"user_message","seq":1,"ts":1.0,"turn_id":"t1","text":"hi"}\n'
        '{"type":"agent_message","seq":2,"ts":2.0,"turn_id":"t1","text":"yo","extra":1}\n'
    )
    rec = read_log(f)
    assert [type(i).__name__ for i in rec.items] == ["UserMessage", "AgentMessage"]
    assert "You" in to_markdown(rec) and "yo" in to_html(rec)


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "say.jsonl"
    f.write_text('{"v":1,"type":"user_message","seq":1,"ts":1.0,"text":"hi"}\n')
    result = CliRunner().invoke(cli, ["replay", "--headless", str(f)])
    assert result.exit_code == 1
    assert "not a parley event log" in result.output


# -- finding sessions ---------------------------------------------------------------


def test_sessions_resolve_by_id_prefix_path_and_latest(
    parley_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj, other = tmp_path / "proj", tmp_path / "other"
    proj.mkdir()
    other.mkdir()
    _install(parley_home, "20260101-100000-aaaaaa", proj, 1000.0)
    newest_here = _install(parley_home, "20260102-100000-bbbbbb", proj, 2000.0)
    _install(parley_home, "20260103-100000-cccccc", other, 3000.0)
    assert [r.session_id for r in list_sessions()][-1] == "20260103-100000-cccccc"
    assert resolve(None, proj / "sub").session_id == "20260102-100000-bbbbbb"
    assert resolve("20260101", proj).session_id == "20260101-100000-aaaaaa"
    assert resolve(str(newest_here), other).session_id == "20260102-100000-bbbbbb"
    by_file = resolve(str(DEMO), other)
    assert by_file.event_log == DEMO and by_file.session_id == read_log(DEMO).header["session_id"]
    with pytest.raises(RecordingNotFound, match="matches 3 sessions"):
        resolve("2026", proj)
    with pytest.raises(RecordingNotFound, match="no recorded session or file"):
        resolve("nope", proj)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordingNotFound, match="no recorded session for"):
        resolve(None, empty)


def test_sessions_command_table_and_json(
    parley_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(parley_home, "20260101-100000-aaaaaa", tmp_path, 1000.0)
    _install(parley_home, "20260102-100000-bbbbbb", tmp_path, 2000.0)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    table = runner.invoke(cli, ["sessions"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["ID", "STARTED", "AGENT", "TURNS", "SIZE", "PROJECT"]
    assert lines[1].startswith("20260102-100000-bbbbbb")  # newest first
    assert "concierge" in lines[1] and " 7 " in lines[1] and lines[1].endswith(str(tmp_path))
    rows = [json.loads(ln) for ln in runner.invoke(cli, ["sessions", "--json"]).output.splitlines()]
    assert [r["id"] for r in rows] == ["20260102-100000-bbbbbb", "20260101-100000-aaaaaa"]
    assert rows[0]["turns"] == 7 and rows[0]["items"] == len(read_log(DEMO).items)
    assert rows[0]["size"] > 10_000 and rows[0]["agent_id"] == "concierge"
    limited = runner.invoke(cli, ["sessions", "--json", "-n", "1"]).output.splitlines()
    assert len(limited) == 1


def test_summary_of_newer_schema_has_no_counts(tmp_path: Path) -> None:
    s = summarize(resolve(str(RECS / "rec_newer_schema.jsonl"), tmp_path))
    assert s.turns is None and s.size > 0
    assert human_size(512) == "512 B" and human_size(21547) == "21.0 KB"


def test_history_and_export_take_a_session(
    parley_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo: object
) -> None:
    _install(parley_home, "20260101-100000-aaaaaa", tmp_path, 1000.0)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    expected = _text(demo)
    assert runner.invoke(cli, ["history", "20260101"]).output == expected
    assert runner.invoke(cli, ["history", str(DEMO)]).output == expected
    assert runner.invoke(cli, ["history"]).output == expected  # latest of this project
    md = runner.invoke(cli, ["export", "20260101"])
    assert md.exit_code == 0 and md.output.startswith("# parley session 20260101-100000-aaaaaa")
    missing = runner.invoke(cli, ["export", "zzz"])
    assert missing.exit_code == 1 and "no recorded session or file 'zzz'" in missing.output


def test_export_output_file_picks_format_from_suffix(tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    result = CliRunner().invoke(cli, ["export", str(DEMO), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_replay_in_the_ui_needs_a_terminal() -> None:
    result = CliRunner().invoke(cli, ["replay", str(DEMO)])  # stdin/stdout are no tty
    assert result.exit_code == 2
    assert "parley: the chat UI needs a terminal; use --headless or --json" in result.output


# -- replay pacing ------------------------------------------------------------------


def _at(*ts: float) -> list[it.ChatItem]:
    return [it.AgentMessage(seq=n + 1, ts=t, text=f"m{n}") for n, t in enumerate(ts)]


def test_schedule_scales_caps_and_never_goes_back() -> None:
    items = _at(100.0, 100.5, 130.0, 129.0, 0.0, 131.0)
    assert schedule(items) == pytest.approx([0, 0.5, 2.5, 2.5, 2.5, 4.5])
    assert schedule(items, speed=2) == pytest.approx([0, 0.25, 1.25, 1.25, 1.25, 2.25])
    assert schedule(items, speed=0) == [0.0] * 6
    assert schedule(items, max_gap=math.inf)[2] == pytest.approx(30.0)
    with pytest.raises(ValueError):
        schedule(items, speed=-1)


def test_play_sleeps_until_each_item_is_due() -> None:
    now = [0.0]
    slept: list[float] = []
    written: list[tuple[float, str]] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    items = _at(10.0, 11.0, 50.0)
    play(
        items,
        lambda i: i.text,  # type: ignore[attr-defined]
        lambda s: written.append((now[0], s)),
        speed=0.5,
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert written == [(0.0, "m0"), (2.0, "m1"), (6.0, "m2")]
    assert slept == pytest.approx([2.0, 4.0])


def test_replay_headless_is_the_text_rendering(demo: object) -> None:
    result = CliRunner().invoke(cli, ["replay", "--headless", "--speed", "0", str(DEMO)])
    assert result.exit_code == 0
    assert result.output == _text(demo)
    assert "function_tool: lookup_weather" in result.output


def test_replay_json_prints_every_item_as_stored(demo: object) -> None:
    result = CliRunner().invoke(cli, ["replay", "--json", "--speed", "0", str(DEMO)])
    lines = result.output.splitlines()
    assert lines == DEMO.read_text().splitlines()[1:]
    assert len(lines) == len(demo.items)  # type: ignore[attr-defined]


def test_replay_paces_in_real_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "paced.jsonl"
    lines = ['{"type": "session", "schema": 1, "session_id": "paced"}']
    lines += [i.to_json() for i in _at(100.0, 100.3, 160.0)]
    f.write_text("\n".join(lines) + "\n")
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    real_play = replay.play
    monkeypatch.setattr(
        replay, "play", lambda *a, **kw: real_play(*a, clock=lambda: now[0], sleep=sleep, **kw)
    )
    result = CliRunner().invoke(cli, ["replay", "--headless", "--max-gap", "0.4", str(f)])
    assert result.exit_code == 0 and result.output.count("● Agent") == 3
    assert slept == pytest.approx([0.3, 0.4])  # 0.3 s, then 60 s capped to 0.4 s


# -- exports ------------------------------------------------------------------------


def _calls(rec: object) -> list[it.ToolCall]:
    return [i for i in rec.items if isinstance(i, it.ToolCall) and i.finished]  # type: ignore[attr-defined]


def test_markdown_has_every_turn_and_tool_call(demo: object) -> None:
    md = to_markdown(demo)  # type: ignore[arg-type]
    for item in demo.items:  # type: ignore[attr-defined]
        if isinstance(item, it.UserMessage) and item.text != MARKUP:
            assert item.text in md
        if isinstance(item, it.AgentMessage):
            assert item.text in md
    # user text is shown as typed: rendered, the Markdown reads exactly what was typed
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<p>please &lt;b&gt;help&lt;/b&gt; &amp; [bold]me[/bold]</p>" in rendered
    calls = _calls(demo)
    assert md.count("<details>") == len(calls) == 6
    for call in calls:
        assert f"<summary>{'✗' if call.is_error else '✓'} {call.name}" in md
    assert "✗ lookup_booking booking_id=ZZZ999 → No booking found with number ZZZ999." in md
    assert '"location": "San Francisco"' in md
    assert "*⇄ handoff: concierge → billing*" in md and "*⇄ handoff: billing → concierge*" in md


class _Page(HTMLParser):
    """Collects text, tags and attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_standalone_and_shows_the_conversation(demo: object) -> None:
    page = _Page()
    page.feed(to_html(demo))  # type: ignore[arg-type]
    page.close()
    assert page.stack == []  # every element closed, properly nested
    text = "".join(page.text)
    names = [t for t, _ in page.tags]
    assert "b" not in names and "script" not in names and "link" not in names
    assert "img" not in names and not any("src" in a or "href" in a for _, a in page.tags)
    assert MARKUP in text  # shown as typed, not as markup
    for item in demo.items:  # type: ignore[attr-defined]
        if isinstance(item, (it.UserMessage, it.AgentMessage)):
            assert item.text in text
    assert names.count("details") == len(_calls(demo)) == 6
    for call in _calls(demo):
        assert ("span", {"class": "name"}) in page.tags and call.name in text
        assert (call.output or "") in text
    assert "handoff: concierge → billing" in text and "handoff: billing → concierge" in text
    assert "agent: concierge" in text


def test_html_escapes_hostile_tool_text() -> None:
    from parley.app.session.eventlog import Recording

    evil = '</pre><script>alert(1)</script><img src=x onerror="y">'
    rec = Recording(
        {"type": "session", "schema": 1, "agent_id": "<i>a</i>"},
        [
            it.ToolCall(seq=1, ts=1.0, call_id="c", name="t<x>", arguments=evil, status="done"),
            it.ToolCall(seq=2, ts=2.0, call_id="d", name="u", output=evil, status="error"),
            it.AgentError(seq=3, ts=3.0, message=evil),
        ],
    )
    page = _Page()
    page.feed(to_html(rec))
    names = [t for t, _ in page.tags]
    assert "script" not in names and "img" not in names and "i" not in names
    # as text: in the summary (arguments, result) and in the body (arguments, output),
    # and the error
    assert "".join(page.text).count(evil) == 5
    md = to_markdown(rec)
    assert "<script>" not in md.replace("```", "").split("</details>")[-1]


def test_cast_is_asciicast_v2_with_monotonic_time(demo: object) -> None:
    cast = to_cast(demo, color=False)  # type: ignore[arg-type]
    lines = cast.splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    assert isinstance(header["width"], int) and isinstance(header["height"], int)
    assert header["width"] >= 80 and header["timestamp"] == int(demo.header["started_at"])  # type: ignore[attr-defined]
    assert "concierge" in header["title"]
    events = [json.loads(ln) for ln in lines[1:]]
    times = [e[0] for e in events]
    assert all(isinstance(e[0], (int, float)) and e[1] == "o" for e in events)
    assert times[0] == 0 and times == sorted(times) and times[-1] > 0
    out = "".join(e[2] for e in events)
    assert "\n" not in out.replace("\r\n", "")
    # the headless rendering, with the exports' labels, wrapped at the cast's width
    shown = "".join(map(TextRenderer(labels=True).render, demo.items))  # type: ignore[attr-defined]
    assert out.replace("\r\n", "\n") == wrap(shown, header["width"])
    assert "● concierge" in shown and "● billing" in shown and "● Agent" not in shown


def test_cast_loads_in_asciinema(tmp_path: Path, demo: object) -> None:
    """asciinema's own reader (``pip install asciinema``; skipped without it)."""
    asciicast = pytest.importorskip("asciinema.asciicast")
    path = tmp_path / "demo.cast"
    path.write_text(to_cast(demo))  # type: ignore[arg-type]
    with asciicast.open_from_url(str(path)) as cast:
        assert cast.v2_header["version"] == 2 and cast.idle_time_limit == 2.0
        events = list(cast.events())
    shown = [i for i in demo.items if TextRenderer().render(i)]  # type: ignore[attr-defined]
    assert len(events) == len(shown) and all(e[1] == "o" for e in events)


def test_json_export_is_the_stored_log(tmp_path: Path) -> None:
    assert to_jsonl(DEMO, read_log(DEMO)) == DEMO.read_text()
    trunc = RECS / "rec_truncated.jsonl"
    out = to_jsonl(trunc, read_log(trunc))
    assert out.endswith("\n") and trunc.read_text().startswith(out)
    assert len(out.splitlines()) == len(trunc.read_text().splitlines()) - 1
    copy = tmp_path / "copy.jsonl"
    shutil.copy(DEMO, copy)
    assert read_log(copy).items == read_log(DEMO).items
