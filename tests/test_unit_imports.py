"""The import rules: what the ``say`` path may load (checked in fresh interpreters),
and the layering of the packages (read from the source): ``parley.app`` never imports
``parley.widgets`` or ``parley.headless`` at module level, ``parley.headless`` and the
core never import textual, and no module imports itself back through others."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import parley.app.cli.commands, parley.app.daemon.client, parley.app.protocol.items, "
        "parley.app.daemon.state, parley.app.protocol.limits",
        "import parley.headless.render",
        # what `parley say` loads: the CLI module, then the say command's imports
        "import parley.app.cli.commands; from parley.app.daemon.client import ControlClient; "
        "from parley.app.protocol.items import item_from_dict; "
        "from parley.headless.render import TextRenderer",
    ],
)
def test_say_path_imports_no_textual_no_asyncio_no_protobuf(code: str) -> None:
    mods = modules_after(code)
    assert "textual" not in mods
    assert "rich" not in mods
    assert "google.protobuf" not in mods
    assert "asyncio" not in mods


def test_app_core_never_imports_textual() -> None:
    mods = modules_after(
        "import parley.app.agent.engine, parley.app.session.session, parley.app.daemon.process, "
        "parley.app.daemon.aclient, parley.app.daemon.control, parley.app.session.eventlog, "
        "parley.app.session.recordings"
    )
    assert "textual" not in mods


# --- the layering rules, read from the source (every import, at any depth) ---------

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "widgets", "headless")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("parley", *parts))


def _sources() -> dict[str, Path]:
    return {
        _module_name(f): f
        for pkg in PACKAGES
        for f in sorted((ROOT / pkg).rglob("*.py"))
        if "__pycache__" not in f.parts
    }


SOURCES = _sources()


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, at_module_level)`` for every import in the file; ``from a import b``
    counts as an import of ``a.b`` when that is one of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.append((sub if sub in SOURCES else node.module, id(node) in top))
    return found


def test_the_source_tree_is_found() -> None:
    assert "parley.app.cli.commands" in SOURCES
    assert "parley.widgets.app" in SOURCES
    assert "parley.headless.render" in SOURCES


def test_app_never_imports_widgets_or_headless_at_module_level() -> None:
    bad = [
        f"{mod} imports {imp}"
        for mod, path in SOURCES.items()
        if mod.startswith("parley.app.")
        for imp, top in _imports(path)
        if top and imp.startswith(("parley.widgets", "parley.headless"))
    ]
    assert bad == []


def test_headless_and_the_core_never_import_textual() -> None:
    bad = [
        f"{mod} imports {imp}"
        for mod, path in SOURCES.items()
        if mod.startswith("parley.headless")
        or (mod.startswith("parley.app.") and not mod.startswith("parley.app.cli."))
        for imp, _ in _imports(path)
        if imp.split(".")[0] == "textual"
    ]
    assert bad == []


def test_no_import_cycles() -> None:
    """No module reaches itself through parley's own imports, lazy ones included."""
    graph = {
        mod: sorted({imp for imp, _ in _imports(path) if imp in SOURCES and imp != mod})
        for mod, path in SOURCES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in graph[mod]:
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[mod] = 2

    for mod in graph:
        if mod not in state:
            visit(mod, [mod])
    assert cycles == []
