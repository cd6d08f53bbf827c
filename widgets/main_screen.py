"""The chat app's main screen: Textual's ``Screen`` with one layout fix.

Textual (8.2) keeps a flag on the screen's compositor saying that its map of every
widget is stale: a widget repainted before a layout pass that is not on screen yet
(a new transcript row) sets it, and a full layout pass, which rebuilds that very map,
leaves it set. The next lookup of any widget's region in that frame (a scrollbar
refresh, a row's new size, the render of a widget) then arranges the whole screen a
second time: ~3.5 ms on 196 of 200 new transcript rows, a quarter of the CPU
time of an append (``bench/bench_tui.py``, 120x40). Here a full layout pass clears
the flag it made true.
"""

from __future__ import annotations

from typing import Any

from textual._compositor import Compositor, ReflowResult
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget


class _Compositor(Compositor):
    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        result = super().reflow(parent, size)
        if hasattr(self, "_full_map_invalidated"):  # the map was rebuilt just now
            self._full_map_invalidated = False
        return result


class MainScreen(Screen[None]):
    """The screen the app composes into (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = _Compositor()
