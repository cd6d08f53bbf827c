"""Exports as people view them (issue 14): each test checks the rendered result.

- Markdown: rendered by markdown-it-py (CommonMark + GFM tables, raw HTML on, as
  GitHub's renderer allows it), then read back as HTML;
- HTML: parsed (:class:`html.parser.HTMLParser`) and checked for structure, classes
  and the CSS rules that select each element;
- asciicast: read with asciinema's own parser (``asciinema.asciicast``), its output
  replayed line by line.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from parley.app.cli.commands import cli
from parley.app.protocol import items as it
from parley.app.protocol.shapes import SessionHeader
from parley.app.session.eventlog import Recording
from parley.headless.export import export, to_cast, to_html, to_jsonl, to_markdown
from parley.headless.render import TextRenderer

T0 = 1_800_000_000.0
HOME = "/home/alice/projects/hotel"
CODE_SPAN = "a < b && c > d"
CODE_BLOCK = '<div class="x">&amp; a   b</div>\nif a < b and c & d:\n    print("*not* emphasis")'
AGENT_MD = (
    "In **Paris** it is `" + CODE_SPAN + "` today.\n"
    "Second line of the same paragraph.\n\n"
    "- first item\n- second <b>item</b>\n\n"
    "```python\n" + CODE_BLOCK + "\n```\n\n"
    "| city | code |\n| --- | --- |\n| Paris | `x\\|y` |\n\n"
    "![tracker](https://example.com/pixel.png) and <script>alert(1)</script>"
)
USER_TEXT = "**not bold** <i>x</i> & `tick`\n# not a heading\n- not a list\n1. not a list"
LONG = ("a long reply that goes on and on " * 12).strip()
CJK = "東京の天気は晴れです。" * 12


def _items() -> list[it.ChatItem]:
    ts = iter(T0 + 1 + 0.1 * i for i in range(100))

    def n(**kw: Any) -> dict[str, Any]:
        n.seq += 1  # type: ignore[attr-defined]
        return {"seq": n.seq, "ts": next(ts), **kw}  # type: ignore[attr-defined]

    n.seq = 0  # type: ignore[attr-defined]
    return [
        it.Handoff(**n(), from_agent=None, to_agent="concierge"),
        it.AgentMessage(**n(), text=AGENT_MD, agent_id="concierge"),
        it.UserMessage(**n(turn_id="t1"), text=USER_TEXT),
        it.ToolCall(**n(turn_id="t1"), call_id="c1", name="lookup_weather",
                    arguments='{"location": "Paris"}'),
        it.ToolCall(**n(turn_id="t1"), call_id="c1", name="lookup_weather",
                    arguments='{"location": "Paris"}', status="done",
                    output="sunny, 21 degrees\nwind from the west"),
        it.ToolCall(**n(turn_id="t1"), call_id="c2", name="lookup_booking",
                    arguments='{"booking_id": "ZZZ999"}', status="error", is_error=True,
                    output="No booking found with number ZZZ999."),
        it.ToolCall(**n(turn_id="t1"), call_id="c3", name="transfer_to_billing",
                    arguments="{}", status="done", output=""),
        it.Handoff(**n(turn_id="t1"), from_agent="concierge", to_agent="billing"),
        it.AgentMessage(**n(turn_id="t1"), text="Billing here. " + LONG, agent_id="billing"),
        it.TurnFinished(**n(turn_id="t1"), status="ok"),
        it.UserMessage(**n(turn_id="t2"), text="what's my balance?"),
        it.TurnFinished(**n(turn_id="t2"), status="cancelled"),
        it.AgentMessage(**n(turn_id="t2"), text="Your balance is $42.", agent_id="billing"),
        it.ToolCall(**n(turn_id="t2"), call_id="c4", name="audit", arguments="{}",
                    status="done", output="logged"),
        it.UserMessage(**n(turn_id="t3"), text="and in Tokyo?"),
        it.AgentMessage(**n(turn_id="t3"), text=CJK, agent_id="billing"),
        it.TurnFinished(**n(turn_id="t3"), status="ok"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def rec() -> Recording:
    header: SessionHeader = {
        "type": "session",
        "schema": 1,
        "parley_version": "0.1.0",
        "session_id": "20270115-093000-abcdef",
        "project": HOME,
        "agent_file": f"{HOME}/src/agent.py",
        "agent_id": "concierge",
        "started_at": T0,
    }
    return Recording(header, _items())


# -- helpers ---------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        out: list[Node] = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and (cls is None or cls in c.classes):
                    out.append(c)
                out += c.find_all(tag, cls)
        return out


class Tree(HTMLParser):
    """An HTML document as a tree of :class:`Node` (void elements closed at once)."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()
        assert self.cur is self.root, "unclosed elements"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in self.VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.cur.tag == tag, (tag, self.cur.tag)
        assert self.cur.parent is not None
        self.cur = self.cur.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def md_render(md: str) -> Node:
    """The Markdown as a GitHub-style renderer shows it (raw HTML allowed)."""
    return Tree(MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)).root


def css_rules(page: str) -> list[tuple[str, str]]:
    """``(selector, declarations)`` of every rule in the page's ``<style>``, media
    queries flattened."""
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    css = re.sub(r"@media[^{]*\{(.*?\})\s*\}", r"\1", css, flags=re.S)
    out = []
    for sel, decl in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        for one in sel.split(","):
            out.append((" ".join(one.split()), decl))
    return out


def _compound_matches(compound: str, node: Node) -> bool:
    if compound == ":root":
        return node.tag == "html"
    compound = re.sub(r"::?[\w-]+(\([^)]*\))?", "", compound)
    m = re.fullmatch(r"([\w*]*)((?:\.[\w-]+)*)", compound)
    if not m:
        return False
    tag, classes = m.group(1), set(filter(None, m.group(2).split(".")))
    return (tag in ("", "*") or tag == node.tag) and classes <= node.classes


def selects(selector: str, node: Node) -> bool:
    """Whether a simple CSS selector (compounds and descendant combinators) selects
    ``node``."""
    parts = selector.replace(">", " ").split()
    if not parts or not _compound_matches(parts[-1], node):
        return False
    anc = node.parent
    for part in reversed(parts[:-1]):
        while anc is not None and not _compound_matches(part, anc):
            anc = anc.parent
        if anc is None:
            return False
        anc = anc.parent
    return True


def cast_lines(path: Path) -> tuple[dict[str, Any], list[tuple[float, str]], list[str]]:
    """The cast read by asciinema's own parser: its header, its events, and the lines
    its output shows (split at ``\\r\\n``, colour codes removed)."""
    asciicast = pytest.importorskip("asciinema.asciicast")
    with asciicast.open_from_url(str(path)) as cast:
        header = cast.v2_header
        events = [(t, data) for t, code, data in cast.events() if code == "o"]
    out = "".join(d for _, d in events)
    assert "\n" not in out.replace("\r\n", "") and "\r" not in out.replace("\r\n", "")
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out).split("\r\n")
    return header, events, lines


def width_of(line: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)


def write_cast(tmp_path: Path, rec: Recording, **kw: Any) -> Path:
    path = tmp_path / "s.cast"
    path.write_text(to_cast(rec, **kw), encoding="utf-8")
    return path


# -- HTML ------------------------------------------------------------------------


def test_1_a_failed_tool_is_styled_as_a_tool_not_as_an_error(rec: Recording) -> None:
    page = to_html(rec)
    root = Tree(page).root
    tools = root.find_all("details")
    failed = [d for d in tools if "lookup_booking" in d.text()]
    ok = [d for d in tools if "lookup_weather" in d.text()]
    assert len(failed) == 1 and len(ok) == 1
    rules = css_rules(page)
    on_failed = [(s, d) for s, d in rules if selects(s, failed[0])]
    # only tool rules reach the failed tool's block: no generic error rule turns it red
    on_failed = [(s, d) for s, d in on_failed if s not in ("*", ":root")]  # universal
    assert on_failed and all(s.startswith("details.tool") for s, _ in on_failed), on_failed
    for sel, decl in on_failed:
        if sel != "details.tool":
            assert not re.search(r"(^|[;\s])(padding|margin|color)\s*:", decl), sel
    # its summary gets exactly the rules a successful tool's summary gets for layout
    s_failed = failed[0].find_all("summary")[0]
    s_ok = ok[0].find_all("summary")[0]

    def layout(node: Node) -> list[str]:
        return [s for s, d in rules if selects(s, node) and re.search(r"padding|margin", d)]

    assert layout(s_failed) == layout(s_ok) and layout(s_ok)
    # and its failure shows on its glyph
    marks = [n for n in s_failed.find_all("span", "mark")]
    assert marks and marks[0].text() == "✗"
    assert any(selects(s, marks[0]) and "--err" in d for s, d in rules)


def test_2_agent_markdown_is_rendered_with_raw_html_off(rec: Recording) -> None:
    root = Tree(to_html(rec)).root
    greeting = root.find_all("div", "agent")[0]
    text = greeting.find_all("div", "text")[0]
    assert [n.text() for n in text.find_all("strong")] == ["Paris"]
    assert [n.text() for n in text.find_all("li")] == ["first item", "second <b>item</b>"]
    assert CODE_SPAN in [n.text() for n in text.find_all("code")]
    assert CODE_BLOCK + "\n" in [n.text() for n in text.find_all("code")]
    assert text.find_all("table") and text.find_all("td")[1].text() == "x|y"
    # raw HTML is text; images are links, never loaded
    for tag in ("script", "b", "img", "i"):
        assert not root.find_all(tag), tag
    assert "<script>alert(1)</script>" in text.text()
    links = text.find_all("a")
    assert [a.attrs.get("href") for a in links] == ["https://example.com/pixel.png"]
    assert "noopener" in (links[0].attrs.get("rel") or "")
    # user text is not Markdown
    user = root.find_all("div", "user")[0]
    assert not user.find_all("strong") and USER_TEXT in user.text()


def test_3_collapsed_tool_rows_show_arguments_and_result(rec: Recording) -> None:
    root = Tree(to_html(rec)).root
    rows = {d.find_all("span", "name")[0].text(): d for d in root.find_all("details")}
    weather = rows["lookup_weather"].find_all("summary")[0].text()
    assert "location=Paris" in weather and "sunny, 21 degrees …" in weather
    assert "wind from the west" not in weather  # first line only
    booking = rows["lookup_booking"].find_all("summary")[0].text()
    assert "booking_id=ZZZ999" in booking and "No booking found with number ZZZ999." in booking
    labels = {name: [n.text() for n in d.find_all("div", "label")] for name, d in rows.items()}
    assert labels["lookup_weather"] == ["arguments", "output"]
    assert labels["transfer_to_billing"] == ["arguments"]  # no empty output box
    assert all(not p.text().strip() == "" for d in rows.values() for p in d.find_all("pre"))


def test_4_times_colour_scheme_and_no_colour_emoji(rec: Recording) -> None:
    page = to_html(rec)
    root = Tree(page).root
    metas = {m.attrs.get("name"): m.attrs.get("content") for m in root.find_all("meta")}
    assert metas.get("color-scheme") == "light dark"
    msgs = root.find_all("div", "msg")
    assert len(msgs) == sum(isinstance(i, (it.UserMessage, it.AgentMessage)) for i in rec.items)
    shown = [i for i in rec.items if isinstance(i, (it.UserMessage, it.AgentMessage))]
    for msg, item in zip(msgs, shown, strict=True):
        times = msg.find_all("time")
        assert len(times) == 1
        secs = item.ts - T0
        assert times[0].text() == f"{int(secs) // 60}:{int(secs) % 60:02d}"
        assert times[0].attrs["datetime"] == f"PT{secs:.3f}S"
    # characters a page can show without a colour-emoji font: nothing from the emoji
    # planes, no variation selector 16, none of the BMP symbols drawn as emoji
    emoji_bmp = set("⌚⌛⏩⏪⏫⏬⏰⏳◽◾☔☕♈♿⚓⚡⚪⚫⚽⚾⛄⛅⛎⛔⛪⛲⛳⛵⛺⛽")
    emoji_bmp |= set("✅✊✋✨❌❎❓❔❕❗➕➖➗➰➿⬛⬜⭐⭕")
    bad = {c for c in page if ord(c) >= 0x1F000 or c == "\ufe0f" or c in emoji_bmp}
    assert not bad


# -- Markdown --------------------------------------------------------------------


def test_5_markdown_keeps_code_exactly_as_spoken(rec: Recording) -> None:
    root = md_render(to_markdown(rec))
    codes = [n.text() for n in root.find_all("code")]  # character references decoded
    assert CODE_SPAN in codes
    assert CODE_BLOCK + "\n" in codes
    assert "x|y" in codes
    # outside code, raw HTML of the agent shows as typed, never as a tag
    for tag in ("script", "b", "img"):
        assert not root.find_all(tag), tag
    text = root.text()
    assert "second <b>item</b>" in text and "<script>alert(1)</script>" in text


def test_5b_agent_markdown_edge_cases() -> None:
    from parley.headless.export_md import md_agent

    cases = {
        # an open fence is closed, so the rest of the transcript stays prose
        "```\ncode <x>\n": ["code <x>\n"],
        # a backtick run without its match is literal, the `<` after it escaped
        "a `` b <i>c</i> `d < e`": ["d < e"],
        # an autolink stays a link
        "see <https://example.com/a?b=1&c=2>": [],
    }
    for source, codes in cases.items():
        root = md_render(md_agent(source) + "\n\n**after**")
        assert [n.text() for n in root.find_all("code")] == codes, source
        assert not root.find_all("i") and root.find_all("strong")[-1].text() == "after"
    link = md_render(md_agent("see <https://example.com/a?b=1&c=2>")).find_all("a")
    assert [a.attrs["href"] for a in link] == ["https://example.com/a?b=1&c=2"]


def _code(source: str, md: MarkdownIt) -> list[str]:
    """The contents of every code span and block markdown-it finds in ``source``."""
    found: list[str] = []

    def walk(tokens: list[Any]) -> None:
        for tok in tokens:
            if tok.type in ("code_inline", "fence", "code_block"):
                found.append(tok.content.rstrip())
            walk(tok.children or [])

    walk(md.parse(source))
    return found


def test_5c_agent_markdown_keeps_all_code_and_no_raw_html_on_random_text() -> None:
    """Random text made of Markdown's special pieces: the export keeps every code span
    and block the agent's Markdown has (as the HTML export parses it: raw HTML off),
    lets no raw HTML or image through (for a renderer with raw HTML on), and leaves
    nothing open for the transcript after it."""
    import random

    from parley.headless.export_md import md_agent

    agent_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    github = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    pieces = ["`", "``", "```\n", "~~~\n", "\n", "\n\n", "<b>", "</b>", "&amp;", "a", "b c"]
    pieces += [" ", "  ", "    ", "*", "_", "- ", "> ", "1. ", "|", "\\", "<", ">"]
    pieces += ["[x](y)", "![i](u)", "<https://e.x>"]
    rnd = random.Random(14)
    for _ in range(3000):
        source = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30)))
        if not source.strip():
            continue
        out = md_agent(source)
        assert _code(source.strip("\n"), agent_md) == _code(out, github), source
        tokens = [t for b in github.parse(out) for t in [b, *(b.children or [])]]
        assert not [t for t in tokens if t.type in ("html_inline", "html_block", "image")]
        after = github.render(out + "\n\n**after**").rstrip()
        assert after.endswith("<p><strong>after</strong></p>"), source


def test_6_line_breaks_never_reach_code_or_blank_lines(rec: Recording) -> None:
    md = to_markdown(rec)
    assert not [ln for ln in md.splitlines() if ln != ln.rstrip()]  # no trailing spaces
    root = md_render(md)
    first = root.find_all("p")
    para = next(p for p in first if "Paris" in p.text())
    assert para.find_all("br")  # the agent's line break is kept...
    assert "today.\nSecond line" in para.text()
    # ...and the code block is the agent's code, line for line
    assert CODE_BLOCK + "\n" in [n.text() for n in root.find_all("code")]


def test_7_user_text_as_typed_agent_text_as_markdown_everywhere(rec: Recording) -> None:
    root = md_render(to_markdown(rec))
    paras = [p for p in root.find_all("p") if "not bold" in p.text()]
    assert len(paras) == 1 and paras[0].text() == USER_TEXT
    assert not root.find_all("h1")[1:] and not paras[0].find_all("em")  # h1: the title
    assert not [li for li in root.find_all("li") if "not a list" in li.text()]
    assert [n.text() for n in root.find_all("strong") if n.text() == "Paris"] == ["Paris"]
    page = Tree(to_html(rec)).root
    user = page.find_all("div", "user")[0].find_all("div", "text")[0]
    assert user.text() == USER_TEXT and not user.children[1:]
    assert page.find_all("div", "agent")[0].find_all("strong")
    cast = to_cast(rec, color=False)
    assert "**not bold** <i>x</i> & `tick`" in cast


# -- asciicast -------------------------------------------------------------------


def _turns(n: int, gap: float = 0.1) -> Recording:
    items: list[it.ChatItem] = []
    t = T0
    for i in range(n):
        turn = f"t{i}"
        items.append(it.UserMessage(seq=len(items) + 1, ts=t, turn_id=turn, text=f"turn {i}"))
        items.append(
            it.AgentMessage(seq=len(items) + 1, ts=t + 0.005, turn_id=turn, text=f"reply {i}")
        )
        items.append(it.TurnFinished(seq=len(items) + 1, ts=t + 0.006, turn_id=turn, status="ok"))
        t += gap
    return Recording({"type": "session", "schema": 1, "started_at": T0}, items)


def test_8_cast_has_a_readable_pace(tmp_path: Path) -> None:
    rec = _turns(12)
    header, events, _ = cast_lines(write_cast(tmp_path, rec, color=False))
    starts = [t for t, d in events if "● You" in d]
    assert len(starts) == 12
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1.0 and events[-1][0] >= 11.0  # not 12 turns in 1.1 s
    # --speed and --max-gap as on `replay`, through the CLI
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join([json.dumps(rec.header), *(i.to_json() for i in rec.items)]) + "\n")
    out = tmp_path / "fast.cast"
    args = ["export", str(log), "-o", str(out), "--speed", "2", "--type-delay", "0.05"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    header, events, lines = cast_lines(out)
    starts = [t for t, d in events if "● You" in d]
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [
        # the pause, the typing, the reply's recorded 5 ms: all at --speed 2
        pytest.approx(0.5 + len(f"turn {i}") * 0.025 + 0.0025, abs=1e-5)
        for i in range(11)
    ]
    # the user's text is typed, one character per event
    first = next(i for i, (_, d) in enumerate(events) if "● You" in d)
    typed = events[first + 1 : first + 6]
    assert typed[0][1] == "    " and [d for _, d in typed[1:5]] == list("turn")
    assert [round(t - starts[0], 6) for t, _ in typed] == [0, 0.025, 0.05, 0.075, 0.1]
    assert "    turn 0" in lines
    assert header["idle_time_limit"] == 1.0  # the longest pause, at --speed 2
    # --max-gap caps a long silence like replay does (0: the pause alone remains)
    slow = Recording(rec.header, _turns(3, gap=60).items)
    _, events, _ = cast_lines(write_cast(tmp_path, slow, color=False, max_gap=5.0, pause=0.0))
    starts = [t for t, d in events if "● You" in d]
    from parley.app.session.replay import schedule

    offsets = schedule(slow.items, 1.0, 5.0)  # `replay --max-gap 5`
    users = [at for at, i in zip(offsets, slow.items, strict=True) if isinstance(i, it.UserMessage)]
    assert starts == pytest.approx(users) and starts[1] - starts[0] == pytest.approx(5.006)


def test_9_cast_width_is_fixed_and_long_lines_wrap_under_their_indent(
    rec: Recording, tmp_path: Path
) -> None:
    for color, kw in ((True, {}), (False, {"width": 60})):
        header, _, lines = cast_lines(write_cast(tmp_path, rec, color=color, **kw))
        width = header["width"]
        assert width == kw.get("width", 100)
        assert max(map(width_of, lines)) <= width
        # the long reply: every line of its block is indented under its title
        at = lines.index("  ● billing")
        block = lines[at + 1 : lines.index("", at + 1)]
        assert len(block) > 3 and all(ln.startswith("    ") and ln[4] != " " for ln in block)
        assert " ".join(ln.strip() for ln in block) == "Billing here. " + LONG
        cjk = lines.index("    " + CJK[: (width - 4) // 2])
        assert "".join(ln.strip() for ln in lines[cjk : cjk + 20] if ln.strip()).startswith(CJK)


def test_9b_cols_on_the_cli(tmp_path: Path, rec: Recording) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join([json.dumps(rec.header), *(i.to_json() for i in rec.items)]) + "\n")
    out = tmp_path / "narrow.cast"
    result = CliRunner().invoke(cli, ["export", str(log), "-o", str(out), "--cols", "72"])
    assert result.exit_code == 0, result.output
    header, _, lines = cast_lines(out)
    assert header["width"] == 72 and max(map(width_of, lines)) <= 72
    bad = CliRunner().invoke(cli, ["export", str(log), "--format", "cast", "--cols", "5"])
    assert bad.exit_code == 2


# -- all exports -----------------------------------------------------------------


def test_10_one_labelling_rule_across_exports(rec: Recording, tmp_path: Path) -> None:
    md = md_render(to_markdown(rec))
    labels = [
        p.children[0].text()
        for p in md.find_all("p")
        if isinstance(p.children[0], Node) and p.children[0].tag == "strong"
    ]
    page = Tree(to_html(rec)).root
    html_labels = [m.find_all("span", "name")[0].text() for m in page.find_all("div", "msg")]
    _, _, lines = cast_lines(write_cast(tmp_path, rec, color=False))
    cast_labels = [ln[4:] for ln in lines if ln.startswith("  ● ") and "function_tool" not in ln]
    dividers = ("agent:", "handoff:")
    cast_labels = [ln.split(" (late")[0] for ln in cast_labels if not ln.startswith(dividers)]
    expected = ["concierge", "You", "billing", "You", "billing", "You", "billing"]
    assert [lab.rstrip(":") for lab in labels] == expected
    assert html_labels == expected and cast_labels == expected
    # `say` keeps LiveKit's label
    say = "".join(TextRenderer().render(i) for i in rec.items)
    assert "● Agent" in say and "● billing" not in say


def test_11_the_agent_file_is_relative_to_the_project(rec: Recording, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join([json.dumps(rec.header), *(i.to_json() for i in rec.items)]) + "\n")
    for fmt in ("md", "html", "cast"):
        out = export(rec, fmt, log)
        assert "/home/alice" not in out, fmt
        if fmt != "cast":
            assert "src/agent.py" in out, fmt
    assert f"{HOME}/src/agent.py" in to_jsonl(log, rec)
    outside = Recording({**rec.header, "agent_file": "/home/alice/elsewhere/bot.py"}, [])
    md = to_markdown(outside)
    assert "/home/alice" not in md and "bot.py" in md


def test_12_late_items_of_a_cancelled_turn_are_marked(rec: Recording, tmp_path: Path) -> None:
    note = "late, from the cancelled turn “what's my balance?”"
    md = md_render(to_markdown(rec))
    para = [p.text() for p in md.find_all("p")]
    assert any(p.startswith("billing:") and note in p for p in para)
    assert sum(note in p for p in para) == 1  # the reply; the tool says it in its summary
    assert sum(note in s.text() for s in md.find_all("summary")) == 1
    assert not any(note in p for p in para if "Billing here" in p)
    page = Tree(to_html(rec)).root
    late = page.find_all(cls="late")
    assert [n.tag for n in late] == ["div", "details"]
    assert "Your balance is $42." in late[0].text() and note in late[0].text()
    assert "audit" in late[1].text()
    _, _, lines = cast_lines(write_cast(tmp_path, rec, color=False))
    assert f"  ● billing ({note})" in lines
    assert f"  ● function_tool: audit ({note})" in lines
    assert lines.count("  ● billing") == 2  # the replies of turns that were not cancelled
