"""Widgets that can skip repainting their own lines for the span of one call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.geometry import Region
from textual.widget import Widget

if TYPE_CHECKING:
    from typing_extensions import Self

    _Base = Widget
else:  # a plain mixin: a Widget base here would hide the widget's COMPONENT_CLASSES
    _Base = object


class LayoutOnlyRefresh(_Base):
    """A widget whose ``refresh`` calls ask for layout only (no repaint of its own
    lines) inside :meth:`layout_only`: for Textual calls that repaint a widget whose
    lines do not change (options added below the view). Mix in
    before the Textual widget class: ``class ToolList(LayoutOnlyRefresh, OptionList)``.
    """

    _layout_only = False

    @contextlib.contextmanager
    def layout_only(self, skip: bool = True) -> Iterator[None]:
        """Within the block, ``refresh`` does not repaint this widget (when ``skip``)."""
        self._layout_only = skip
        try:
            yield
        finally:
            self._layout_only = False

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False,
        recompose: bool = False,
    ) -> Self:  # fmt: skip
        if self._layout_only:
            repaint = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
