"""Untrusted text never drives the terminal: control characters in agent, tool and
user text are shown escaped by the text renderer, the chat UI's routing and every
export; ``--json`` keeps the exact text."""

from __future__ import annotations

import json
import re

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls, escape_fields
from parley.app.session.eventlog import Recording
from parley.headless.export import to_cast, to_html, to_markdown
from parley.headless.render import TextRenderer, render_json

TITLE = "\x1b]0;pwned\x07"  # set the window title
CLEAR = "\x1b[2J"  # clear the screen
CLIP = "\x1b]52;c;cm0gLXJmIH4=\x07"  # write the clipboard
NASTY = f"hello {TITLE}{CLEAR}{CLIP}\rover\x9bwritten\x7f"

ITEMS: list[it.ChatItem] = [
    it.UserMessage(text=NASTY, seq=1, ts=1.0, turn_id="t1"),
    it.ToolCall(call_id="c1", name=f"tool{CLEAR}", arguments=f'{{"q": "{CLIP}"}}', seq=2),
    it.ToolCall(call_id="c1", name=f"tool{CLEAR}", status="done", output=NASTY, seq=3, ts=2.0),
    it.Handoff(from_agent=f"a{TITLE}", to_agent=f"b{CLEAR}", seq=4, ts=2.0),
    it.AgentMessage(text=NASTY, agent_id="a", seq=5, ts=2.5),
    it.AgentError(message=NASTY, seq=6, ts=3.0),
    it.TurnFinished(status="error", error=NASTY, seq=7, ts=3.0, turn_id="t1"),
]

# our own colours: SGR sequences only
OWN_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _no_raw_controls(text: str) -> None:
    stripped = OWN_SGR.sub("", text)
    bad = [c for c in stripped if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
    assert not bad, f"raw control characters reached the output: {bad!r}"


def test_escape_controls_shows_each_control_character() -> None:
    assert escape_controls(NASTY) == (
        "hello \\x1b]0;pwned\\x07\\x1b[2J\\x1b]52;c;cm0gLXJmIH4=\\x07\\x0dover\\x9bwritten\\x7f"
    )
    assert escape_controls("line\n\tindented") == "line\n\tindented"
    assert escape_controls("windows\r\nline\x1b") == "windows\nline\\x1b"
    plain = "nothing to do: ünïcödé ✓"
    assert escape_controls(plain) is plain


def test_escape_fields_copies_only_when_needed() -> None:
    clean = it.UserMessage(text="hi")
    assert escape_fields(clean) is clean
    cfg = it.ConfigUpdate(tools_added=[f"t{CLEAR}"], instructions=TITLE)
    out = escape_fields(cfg)
    assert out.tools_added == ["t\\x1b[2J"] and out.instructions == "\\x1b]0;pwned\\x07"
    assert cfg.instructions == TITLE  # the original is untouched


def test_text_renderer_escapes_untrusted_text_and_keeps_its_colours() -> None:
    for color in (False, True):
        out = "".join(TextRenderer(color=color).render(i) for i in ITEMS)
        _no_raw_controls(out)
        assert "\\x1b]0;pwned\\x07" in out and "\\x1b[2J" in out and "\\x1b]52;" in out
        assert ("\x1b[1;36m" in out) is color  # our colour for "You"


def test_json_keeps_the_exact_text() -> None:
    line = render_json(ITEMS[0])
    assert "\x1b" not in line  # JSON escapes it...
    assert json.loads(line)["text"] == NASTY  # ...and it decodes to the exact text


def test_exports_escape_control_characters() -> None:
    rec = Recording({"type": "session", "schema": 1, "agent_id": f"x{TITLE}"}, ITEMS)
    for text in (to_markdown(rec), to_html(rec)):
        _no_raw_controls(text)
        assert "\\x1b]0;pwned\\x07" in text
    cast = to_cast(rec, color=True)
    for line in cast.splitlines():
        obj = json.loads(line)
        payload = obj[2] if isinstance(obj, list) else obj["title"]
        _no_raw_controls(payload.replace("\r\n", "\n"))


async def test_the_chat_ui_shows_control_characters_escaped() -> None:
    from parley.app.backend import ItemsBackend
    from parley.widgets.app import make_app

    app = make_app(ItemsBackend(ITEMS), frozen=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.loaded.wait()
        await pilot.pause()
        shown = [e.item for e in app.transcript.shown if e.item is not None]
        assert len(shown) >= 5
        for item in [*shown, *app.tools.calls.values()]:
            for value in vars(item).values():
                if isinstance(value, str):
                    _no_raw_controls(value)
        assert any("\\x1b]0;pwned\\x07" in getattr(i, "text", "") for i in shown)
