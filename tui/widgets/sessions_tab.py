"""The Sessions tab: saved sessions, the versions of the highlighted one, and a side-by-side diff of
two of them (inputs that changed, and what that does to memory, nodes, power and cost).

It lists the store itself (a directory listing) and asks the app for the diff (`DiffRequested`):
loading and planning two sessions runs in a worker, the result comes back to `show_diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from ..css import tcss
from .fresh_table import FreshDataTable

CURRENT = "current"
UNSAVED = "unsaved"


@dataclass(frozen=True, slots=True)
class VersionRef:
    """One side of a diff: a stored session's current file, one of its versions, or the unsaved
    session in the editor."""

    name: str
    version: str  # CURRENT, UNSAVED or a version id

    def label(self) -> str:
        if self.version == CURRENT:
            return f"{self.name} (saved)"
        if self.version == UNSAVED:
            return f"{self.name} (unsaved edits)"
        return f"{self.name} @ {format_stamp(self.version)}"


def format_stamp(version: str) -> str:
    """A version id (UTC stamp) in local time, to the second."""
    from datetime import UTC

    try:
        moment = datetime.strptime(version, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return version
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class DiffRequested(Message):
    def __init__(self, a: VersionRef, b: VersionRef) -> None:
        super().__init__()
        self.a, self.b = a, b


class SessionAction(Message):
    """open / rename / delete the session (or open one of its versions) `ref`."""

    def __init__(self, action: str, ref: VersionRef) -> None:
        super().__init__()
        self.action, self.ref = action, ref


def _num(value: float, unit: str, signed: bool = False) -> str:
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    v = abs(value)
    if unit in ("tokens", "sessions", "nodes", "GPUs"):
        return f"{sign}{v:,.0f}"
    if unit == "USD/h":
        return f"{sign}${v:,.2f}/h"
    if unit == "sequences":
        return f"{sign}{v:,.2f}x"
    return f"{sign}{v:,.2f} {unit}"


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{...}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class SessionsPaneMounted(Message):
    """The pane is mounted (lazily): the app tells it what is open and has it list the store."""


class SessionsPane(Horizontal):
    DEFAULT_CSS = tcss("sessions.tcss")
    SCOPED_CSS = False
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("a", "side('a')", "Diff A"),
        Binding("b", "side('b')", "Diff B"),
        Binding("r", "rename", "Rename"),
        Binding("delete", "delete", "Delete"),
    ]

    def __init__(self, store: Callable[[], Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._store = store  # a getter: the store is created after the first frame
        self.names: list[str] = []
        self.refs: list[VersionRef] = []
        self.a: VersionRef | None = None
        self.b: VersionRef | None = None
        self.open_name: str | None = None  # the stored session open in the editor
        self.open_dirty = False
        self.ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-lists"):
            yield OptionList(id="session-list")
            yield OptionList(id="version-list")
        with VerticalScroll(id="diff-view"):
            yield Static("", id="diff-title")
            yield FreshDataTable(id="diff-inputs", cursor_type="none", zebra_stripes=True, show_cursor=False)
            yield FreshDataTable(id="diff-results", cursor_type="none", zebra_stripes=True, show_cursor=False)
            yield Static("enter open · a / b pick the diff sides · r rename · del move to trash",
                         id="sessions-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#session-list").border_title = "Saved sessions"
        self.query_one("#version-list").border_title = "Versions"
        self.query_one("#diff-view").border_title = "Diff"
        inputs = self.query_one("#diff-inputs", DataTable)
        inputs.add_columns("input", "A", "B")
        results = self.query_one("#diff-results", DataTable)
        results.add_columns("figure", Text("A", justify="right"), Text("B", justify="right"),
                            Text("change", justify="right"))
        self.ready = True
        self.post_message(SessionsPaneMounted())

    @property
    def store(self) -> Any:
        return self._store()

    # -- listing --------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Re-read the store; keep (or move to) the selected session."""
        if not self.ready:
            return  # it asks the app once it is mounted (SessionsPaneMounted)
        sessions = self.query_one("#session-list", OptionList)
        previous = self.selected_name()
        try:
            entries = self.store.list()
        except OSError:
            entries = []
        self.names = [e.name for e in entries]
        sessions.clear_options()
        for e in entries:
            label = Text(e.name, style="bold" if e.name == self.open_name else "")
            label.append(f"  {format_time(e.mtime)}", style="dim")
            sessions.add_option(Option(label, id=e.name))
        if not entries:
            sessions.add_option(Option(Text("no saved sessions yet: ctrl+s saves", style="dim"), disabled=True))
            self._show_versions(None)
            return
        target = select or previous or self.open_name
        index = self.names.index(target) if target in self.names else 0
        sessions.highlighted = index
        self._show_versions(self.names[index])

    def selected_name(self) -> str | None:
        sessions = self.query_one("#session-list", OptionList)
        i = sessions.highlighted
        return self.names[i] if i is not None and 0 <= i < len(self.names) else None

    def selected_ref(self) -> VersionRef | None:
        versions = self.query_one("#version-list", OptionList)
        if versions.has_focus and versions.highlighted is not None and versions.highlighted < len(self.refs):
            return self.refs[versions.highlighted]
        name = self.selected_name()
        return VersionRef(name, CURRENT) if name else None

    def _show_versions(self, name: str | None) -> None:
        versions = self.query_one("#version-list", OptionList)
        versions.clear_options()
        previous, self.refs = self.refs, []
        if name is None:
            self.a = self.b = None
            self._render_sides()
            return
        try:
            infos = self.store.versions(name)
        except (OSError, ValueError):
            infos = []
        if name == self.open_name and self.open_dirty:
            self.refs.append(VersionRef(name, UNSAVED))
        self.refs.append(VersionRef(name, CURRENT))
        self.refs += [VersionRef(name, v.id) for v in infos]
        # Default sides: the newest two states of this session (kept while the list is the same).
        if self.refs != previous or not (self.a in self.refs and self.b in self.refs):
            self.b = self.refs[0]
            self.a = self.refs[1] if len(self.refs) > 1 else self.refs[0]
        self._render_sides()
        self.post_message(DiffRequested(self.a, self.b))

    def _render_sides(self) -> None:
        versions = self.query_one("#version-list", OptionList)
        keep = versions.highlighted
        versions.clear_options()
        for ref in self.refs:
            mark = ("A" if ref == self.a else " ") + ("B" if ref == self.b else " ")
            text = Text(f"{mark} ", style="bold")
            if ref.version == CURRENT:
                text.append("saved (current)")
            elif ref.version == UNSAVED:
                text.append("unsaved edits", style="italic")
            else:
                text.append(format_stamp(ref.version))
            versions.add_option(Option(text))
        if self.refs:
            versions.highlighted = min(keep or 0, len(self.refs) - 1)

    @on(OptionList.OptionHighlighted, "#session-list")
    def _session_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        name = self.selected_name()
        if name is not None and (not self.refs or self.refs[0].name != name):
            self._show_versions(name)

    @on(OptionList.OptionSelected, "#session-list")
    def _session_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    @on(OptionList.OptionSelected, "#version-list")
    def _version_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    # -- actions --------------------------------------------------------------------------
    def action_side(self, side: str) -> None:
        versions = self.query_one("#version-list", OptionList)
        i = versions.highlighted
        if i is None or not (0 <= i < len(self.refs)):
            return
        if side == "a":
            self.a = self.refs[i]
        else:
            self.b = self.refs[i]
        self._render_sides()
        if self.a and self.b:
            self.post_message(DiffRequested(self.a, self.b))

    def action_open(self) -> None:
        ref = self.selected_ref()
        if ref is not None:
            self.post_message(SessionAction("open", ref))

    def action_rename(self) -> None:
        name = self.selected_name()
        if name:
            self.post_message(SessionAction("rename", VersionRef(name, CURRENT)))

    def action_delete(self) -> None:
        name = self.selected_name()
        if name:
            self.post_message(SessionAction("delete", VersionRef(name, CURRENT)))

    # -- the diff -------------------------------------------------------------------------
    def show_diff(self, a: VersionRef, b: VersionRef, inputs: Sequence[Any], results: Sequence[Any],
                  error: str | None = None) -> None:
        if not self.ready or (a, b) != (self.a, self.b):
            return  # an older request
        title = Text()
        title.append("A ", style="bold")
        title.append(a.label())
        title.append("   B ", style="bold")
        title.append(b.label())
        if error:
            title.append(f"\n{error}", style="bold red")
        elif a == b:
            title.append("\nPick two different versions: highlight one and press a, another and press b.",
                         style="dim")
        elif not inputs:
            title.append("\nSame inputs.", style="dim")
        self.query_one("#diff-title", Static).update(title)
        table = self.query_one("#diff-inputs", DataTable)
        table.clear()
        for change in inputs:
            table.add_row(change.path, _show(change.before), _show(change.after))
        table.display = bool(inputs)
        res = self.query_one("#diff-results", DataTable)
        res.clear()
        for r in results:
            style = "bold" if r.delta else "dim"
            pct = f" {(r.ratio - 1) * 100:+.0f}%" if r.delta and r.ratio else ""
            change = f"{_num(r.delta, r.unit, signed=True)}{pct}" if r.delta else "="
            res.add_row(
                Text(r.label, style=style),
                Text(_num(r.before, r.unit), justify="right", style="" if r.delta else "dim"),
                Text(_num(r.after, r.unit), justify="right", style="" if r.delta else "dim"),
                Text(change, justify="right", style=style),
            )
        res.display = bool(results) and a != b
