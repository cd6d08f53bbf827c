"""The import rules: what the ``say`` path may load (checked in fresh interpreters),
and the layering of the packages (read from the source): every import follows the
"may import" table of ``docs/architecture.md``, ``parley.app`` never imports
``parley.widgets`` or ``parley.headless`` at module level, ``parley.headless`` and the
core never import textual, and no module imports itself back through others.

An import counts as lazy only inside a function; one in a module-level ``try:``,
``if`` (``TYPE_CHECKING`` included), ``with`` or class body runs (or type-checks) with
the module, so it counts as a module-level import."""

from __future__ import annotations

import ast
import re
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


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, at_module_level)`` for every import in the file; ``from a import b``
    counts as an import of ``a.b`` when that is one of our modules, and relative imports
    are resolved. Only an import inside a function is lazy."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> list[tuple[str, bool]]:
    """:func:`_imports` of ``source``, a module of ``package``."""
    tree = ast.parse(source)
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((a.name, top) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((sub if sub in SOURCES else base, top))
        for child in ast.iter_child_nodes(node):
            visit(child, top and not isinstance(node, _FUNCTIONS))

    visit(tree, True)
    return found


def test_only_imports_in_functions_are_lazy() -> None:
    source = """
import parley.app.a
try:
    from parley.app import errors
except ImportError:
    pass
if TYPE_CHECKING:
    from parley.app.b import X
with suppress(ImportError):
    import parley.app.c
class K:
    import parley.app.d
def f():
    import parley.app.e
    if x:
        from parley.app.f import y
async def g():
    from . import home
h = lambda: __import__("x")
from ..protocol import items
"""
    assert _imports_in(source, "parley.app.agent") == [
        ("parley.app.a", True),
        ("parley.app.errors", True),
        ("parley.app.b", True),
        ("parley.app.c", True),
        ("parley.app.d", True),
        ("parley.app.e", False),
        ("parley.app.f", False),
        ("parley.app.agent", False),
        ("parley.app.protocol.items", True),
    ]


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


# --- the package layering: the "may import" table of docs/architecture.md ----------

ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: in a row's "may import" cell, the packages after this are imported inside functions only
LAZY_MARK = "inside a command only:"


def _layers() -> dict[str, tuple[set[str], set[str]]]:
    """The table's rows: ``{package: (may import, may import inside functions only)}``,
    packages by their installed name, read from the cells' backquoted short names."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and line.count("|") == 5
    ]
    packages = {row[1].strip("`") for row in rows}
    short = {p.rpartition(".")[2]: p for p in packages}
    assert len(short) == len(packages), "two packages with the same short name"

    def names(cell: str) -> set[str]:
        words = re.findall(r"`([^`]+)`", cell)
        unknown = [w for w in words if w not in short]
        assert not unknown, f"not a package of the table: {unknown} in {cell!r}"
        return {short[w] for w in words}

    layers = {}
    for row in rows:
        eager, _, lazy = row[3].partition(LAZY_MARK)
        layers[row[1].strip("`")] = (names(eager), names(lazy))
    return layers


LAYERS = _layers()


def _layer_of(module: str) -> str | None:
    """The table's package holding ``module`` (the longest prefix), or ``None``."""
    found = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return max(found, key=len) if found else None


def _below(package: str, seen: set[str] | None = None) -> set[str]:
    """Every package ``package`` may import at module level, through the rows it names."""
    seen = set() if seen is None else seen
    for dep in LAYERS[package][0] - seen:
        seen.add(dep)
        _below(dep, seen)
    return seen


def test_the_table_is_read() -> None:
    assert LAYERS["parley.app.protocol"] == ({"parley.app.errors"}, set())
    assert LAYERS["parley.app.cli"][1] == {"parley.headless", "parley.widgets"}
    assert "parley.app.cli" not in _below("parley.widgets")
    # the layers form no cycle: nothing is below itself
    assert [p for p in LAYERS if p in _below(p)] == []


def test_every_module_has_a_row() -> None:
    """A new top-level module (or package) needs its row in the table."""
    unplaced = [m for m in SOURCES if m != "parley.app" and _layer_of(m) is None]
    assert unplaced == [], "give each a row in the package table of docs/architecture.md"


def test_packages_import_only_the_layers_below() -> None:
    """Every import of one of our modules, at any depth, goes to the module's own
    package or one its row allows (transitively); the lazy-only ones of a row only
    inside a function."""
    bad = []
    for mod, path in SOURCES.items():
        layer = _layer_of(mod)
        if layer is None:
            continue
        eager = _below(layer)
        lazy = set().union(*(_below(p) | {p} for p in LAYERS[layer][1]))
        for imp, top in _imports(path):
            target = _layer_of(imp)
            if target is None or target == layer or target in eager:
                continue
            if target in lazy and not top:
                continue
            where = "at module level" if top else "in a function"
            bad.append(f"{mod} imports {imp} {where} ({layer} may not import {target})")
    assert bad == [], "see the package table of docs/architecture.md"
