"""Watch mode pieces without an agent: which files count, the syntax pre-check, the
``reload`` item's JSON and text forms, and its row in the chat UI."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from test_tui_support import SIZE, drawn_with, rows, wait_until
from test_tui_widgets import ScriptedBackend, loaded
from watchfiles import Change

from parley.app.agent.launcher import AgentSpec
from parley.app.agent.spare import interpreter, supports
from parley.app.protocol import items as it
from parley.app.session.reload import syntax_error
from parley.app.session.watch import SourceFilter
from parley.headless.render import TextRenderer
from parley.widgets.app import make_app


def test_source_filter(tmp_path: Path) -> None:
    f = SourceFilter((str(tmp_path / "state"),))
    accepted = ["agent.py", "src/tools.py", "agent.ts", "lib/x.mjs", ".env", ".env.local"]
    rejected = [
        "README.md",
        "notes.txt",
        ".venv/lib/site.py",
        "venv/lib/x.py",
        "node_modules/pkg/index.js",
        "__pycache__/agent.cpython-311.pyc",
        ".git/hooks/pre-commit.py",
        "state/data/sessions/x/events.py",
        "agent.py~",
        ".env/lib/python3.11/site.py",
    ]
    for name in accepted:
        assert f(Change.modified, str(tmp_path / name)), name
    for name in rejected:
        assert not f(Change.modified, str(tmp_path / name)), name


def test_syntax_error_uses_the_agents_python(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "notes.md").write_text("def (:")
    for python in ([sys.executable], [sys.executable, "-I"]):  # in-process, subprocess
        assert syntax_error(python, tmp_path, ["good.py", "notes.md", "gone.py"]) is None
        err = syntax_error(python, tmp_path, ["good.py", "bad.py"])
        assert err is not None and "SyntaxError" in err and "bad.py" in err and "line 1" in err


def test_spare_supports_python_agents_only(tmp_path: Path) -> None:
    spec = AgentSpec(tmp_path / "agent.py", tmp_path, [sys.executable])
    assert supports(spec) and interpreter(spec) == [sys.executable]
    spec = AgentSpec(tmp_path / "agent.py", tmp_path, ["uv", "run", "--no-sync", "python"])
    assert supports(spec)
    node = SimpleNamespace(  # a Node agent as the launcher describes one (issue 15)
        kind="node",
        runtime=["node"],
        agent_file=tmp_path / "agent.mjs",
        command=lambda port: ["node", "agent.mjs", "console", "--connect-addr", f":{port}"],
    )
    assert interpreter(node) is None and not supports(node)  # type: ignore[arg-type]


def test_reload_item_json_and_text() -> None:
    ok = it.Reload(seq=5, files=["agent.py"], agent_pid=42, duration_ms=312.4, warm=True)
    assert it.item_from_json(ok.to_json()) == ok
    assert ok.to_dict()["type"] == "reload"
    text = TextRenderer().render(ok)
    assert "reloaded: agent.py" in text and "agent pid 42" in text and "312 ms, warm" in text
    bad = it.Reload(files=["agent.py"], error='  File "agent.py", line 3\nSyntaxError: x')
    text = TextRenderer().render(bad)
    assert "✗ reload failed (agent.py); the previous agent keeps running" in text
    assert "SyntaxError: x" in text


async def test_reload_rows_and_notifications_in_the_ui() -> None:
    # a reload in the backlog (attaching to a session) is shown but is not news
    backend = ScriptedBackend([it.Reload(seq=1, ts=1.0, files=["old.py"], agent_pid=7)])
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        (old,) = await wait_until(pilot, lambda: rows(app, "reload"))
        assert "agent reloaded: old.py" in old.plain
        await wait_until(pilot, lambda: app.loaded.is_set())
        assert not app._notifications
        backend.emit(it.Reload(files=["agent.py"], agent_pid=42, duration_ms=300.0))
        await wait_until(pilot, lambda: len(rows(app, "reload")) == 2)
        row = rows(app, "reload")[1]
        assert "agent reloaded: agent.py" in row.plain and "pid 42" in row.plain
        assert not drawn_with(app, row, "reload-error") and drawn_with(app, row, "reload")
        await wait_until(pilot, lambda: app._notifications)
        assert [n.message for n in app._notifications] == ["Agent reloaded (agent.py)"]
        backend.emit(it.Reload(files=["agent.py"], error="SyntaxError: [b]bad[/b]"))
        await wait_until(pilot, lambda: len(rows(app, "reload")) == 3)
        bad = rows(app, "reload")[2]
        assert drawn_with(app, bad, "reload-error") and "SyntaxError: [b]bad[/b]" in bad.plain
        await wait_until(
            pilot, lambda: any("Reload failed (agent.py)" in n.message for n in app._notifications)
        )
