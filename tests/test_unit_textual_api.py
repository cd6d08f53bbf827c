"""The chat UI uses Textual's public API only (issue 10): no ``textual._*`` module is
imported by the product, and no widget overrides a ``_``-prefixed member that a
Textual base class defines, except the hook Textual documents for extending
``TextArea``'s keys (``_on_key``, "Extending TextArea" in the TextArea guide)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import parley.widgets

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("app", "headless", "widgets")
#: (class name, member): overrides Textual documents as extension points
DOCUMENTED = {("PromptInput", "_on_key")}


def _private_textual_imports() -> list[str]:
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                names: list[str] = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "textual" and any(p.startswith("_") for p in parts[1:]):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def _set_by_textual() -> set[str]:
    """Members Textual's class machinery sets on every subclass (``_css_type_name``,
    ``_decorated_handlers``...): not overrides."""
    from textual.app import App
    from textual.message import Message
    from textual.screen import Screen
    from textual.widget import Widget

    names: set[str] = set()
    for base in (Widget, Screen, App, Message):
        names |= set(vars(type("Probe", (base,), {})))
    return names


def _private_overrides() -> list[str]:
    auto = _set_by_textual()
    found = []
    for info in pkgutil.walk_packages(parley.widgets.__path__, "parley.widgets."):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            textual_bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("textual")]
            for name in vars(cls):
                if not name.startswith("_") or name.startswith("__"):
                    continue
                if name in auto or (cls.__name__, name) in DOCUMENTED:
                    continue
                if any(name in vars(base) for base in textual_bases):
                    found.append(f"{cls.__module__}.{cls.__name__}.{name}")
    return found


def test_the_product_imports_no_private_textual_module() -> None:
    assert _private_textual_imports() == []


def test_no_widget_overrides_a_private_textual_member() -> None:
    assert _private_overrides() == []
