"""`Static.update` without a layout pass when the widget keeps its size.

Textual's `Static.update` lays the whole screen out again by default (`refresh(layout=True)`):
with the sidebar's hundred widgets that reflow is most of what a plan costs to show while the
user types, though nearly every figure keeps its height from one plan to the next. Here the new
content is measured at the widget's current width first, and a layout pass is asked for only if
its height (or, for an auto-width widget, anything) can change.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


def update_static(widget: Static, content: Any) -> None:
    widget.update(content, layout=False)
    if needs_layout(widget):
        widget.refresh(layout=True)


def refresh_content(widget: Any) -> None:
    """A widget whose content changed (not a Static): repainted, and laid out only if its size
    can change."""
    widget.refresh()
    if needs_layout(widget):
        widget.refresh(layout=True)


def needs_layout(widget: Any) -> bool:
    """Whether the widget's new content can change its size (it has just been refreshed, so its
    cached content height is gone and is measured afresh)."""
    if not widget.is_mounted:
        return False  # its first layout is still to come
    if not all(node.display for node in widget.ancestors_with_self if hasattr(node, "display")):
        return False  # hidden (a tab not shown): it is measured afresh when shown
    styles = widget.styles
    if styles.width is not None and styles.width.is_auto:
        return True
    if styles.height is not None and not styles.height.is_auto:
        return False  # a fixed or fractional height: the content does not size it
    content = widget.content_size
    if not content.width:
        return True  # never laid out yet (or hidden from the start): let Textual size it
    return widget.get_content_height(widget.container_size, widget.app.size, content.width) != content.height
