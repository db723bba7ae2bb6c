"""The command palette (ctrl+p) offers every action of the app, each with a line of help."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .pane_registry import PANES, SESSION_TABS

PaletteCommand = tuple[str, str, Callable[[], object]]


class PaletteHost(Protocol):
    """What the palette needs of the app (tui/app.py's GpuPlanApp); a protocol, so this module
    does not import the app that imports it."""

    watch_path: Path | None

    def action_save(self) -> Any: ...
    def action_save_as(self) -> Any: ...
    def action_open(self) -> Any: ...
    def action_new(self) -> Any: ...
    def action_rename(self) -> Any: ...
    def action_delete(self) -> Any: ...
    def action_export(self, fmt: str) -> Any: ...
    def action_import_config(self) -> Any: ...
    def action_cycle_theme(self) -> Any: ...
    def action_toggle_sidebar(self) -> Any: ...
    def action_help(self) -> Any: ...
    def action_tab(self, tab: str) -> Any: ...
    def action_reload(self) -> Any: ...
    def action_quit(self) -> Any: ...


def app_commands(app: PaletteHost) -> Iterable[PaletteCommand]:
    """(title, help, callback) for every action, in the order the palette lists them."""
    yield "Save", "Save the session (ctrl+s); asks a name the first time", app.action_save
    yield "Save as...", "Save under a new name in the sessions folder", app.action_save_as
    yield "Open...", "Open a saved session or a session file (ctrl+o)", app.action_open
    yield "New session", "Start again from the default session (ctrl+n)", app.action_new
    yield "Rename session...", "Give the session a new name (renames the saved file too)", app.action_rename
    yield "Delete session", "Move the saved session to the trash", app.action_delete
    for fmt, title in (("md", "Markdown"), ("json", "JSON"), ("text", "text"), ("csv", "CSV")):
        yield (f"Export report as {title}...", f"Write the current plan as {title} (same as gpuplan plan "
               f"--format {fmt})", partial(app.action_export, fmt))
    yield ("Import a Hugging Face config.json...", "Size a model from its config.json (inlined into the "
           "session)", app.action_import_config)
    yield "Switch theme", "Cycle dark (256-colour friendly) / light themes", app.action_cycle_theme
    yield "Toggle sidebar", "Show or hide the inputs sidebar (ctrl+b)", app.action_toggle_sidebar
    yield "Help", "Keys and how the inputs are read (?)", app.action_help
    for tab, title in ((spec.tab, spec.title) for spec in PANES):
        yield f"Go to {title}", f"Show the {title} tab", partial(app.action_tab, tab)
    for st in SESSION_TABS:  # the Fleet tab while the session names a Prometheus (else its key says why)
        yield f"Go to {st.title}", f"Show the {st.title} tab, where the session has one", partial(app.action_tab, st.tab)
    if app.watch_path is not None:
        yield "Reload watched file", f"Read {app.watch_path} again now", app.action_reload
    yield "Quit", "Leave gpuplan (asks if there are unsaved changes)", app.action_quit


class GpuPlanCommands(Provider):
    async def discover(self) -> Hits:
        for title, help_text, callback in app_commands(self.app):  # type: ignore[arg-type]
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in app_commands(self.app):  # type: ignore[arg-type]
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
