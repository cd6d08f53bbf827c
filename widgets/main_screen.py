"""The chat app's main screen: Textual's ``Screen`` with two fixes that cost every
new transcript row time.

**Frame clock.** The screen draws at most one frame per 1/60 s slot: its update
timer sleeps to the next slot and waits there, paused, until something needs a
refresh. After such a late tick Textual 8.2's timer skips to the slot *after* the
next one, so the next frame could wait up to two slots (33 ms) with nothing to do:
items arriving one after another showed 40-48 ms after they arrived although an
append takes ~12 ms of CPU. :class:`_FrameTimer` waits for the next slot instead
(still at most one frame per slot).

**Layout.**
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

from textual import _time
from textual._compositor import Compositor, ReflowResult
from textual.geometry import Size
from textual.screen import UPDATE_PERIOD, Screen
from textual.timer import EventTargetGone, Timer
from textual.widget import Widget


class _FrameTimer(Timer):
    """Textual's ``Timer._run`` (8.2) with the slot after a late tick fixed (see the
    module docstring)."""

    async def _run(self) -> None:
        count = 0
        interval = self._interval
        await self._active.wait()
        start = _time.get_time()
        while self._repeat is None or count <= self._repeat:
            now = _time.get_time()
            next_timer = start + (count + 1) * interval
            if next_timer < now:  # late: the next slot, not the one after it
                count = int((now - start) / interval)
                next_timer = start + (count + 1) * interval
            await _time.sleep(max(0.0, next_timer - now))
            count += 1
            await self._active.wait()
            if self._reset:
                start = _time.get_time()
                count = 0
                self._reset = False
                continue
            try:
                await self._tick(next_timer=next_timer, count=count)
            except EventTargetGone:
                break


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
        self._frame_timer: Timer | None = None

    @property
    def _update_timer(self) -> Timer:
        if self._frame_timer is None:
            timer = _FrameTimer(self, UPDATE_PERIOD, name="screen_update",
                                callback=self._on_timer_update, pause=True)  # fmt: skip
            timer._start()
            self._timers.add(timer)
            self._frame_timer = timer
        return self._frame_timer
