"""`?`: what the app does, every key of every tab, and how the inputs are read.

The key tables are generated when help opens, from the app's bindings and the bindings of each
registered pane (tui/pane_registry.py) and its widgets, so a pane added to the registry, or a key
added to a pane, shows up here without editing this file. The box scrolls by keyboard (up/down,
page up/down, home/end, j/k) and fits 80x24.

The text is Markdown drawn by Rich as one widget: Textual's Markdown widget builds a widget per
block and table cell (about 300 here) and took over 2 s of CPU to open on a loaded 2-core machine;
Rich draws the same text in under 0.1 s.
"""

from __future__ import annotations

from typing import Any, Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..css import tcss
from ..keys import OPTION_DIGITS
from ..pane_registry import PANES, SESSION_TABS

INTRO = """\
# gpuplan

Size LLM serving on GPUs as you type. Pick a model and hardware in the **inputs** sidebar, set the
workload; every pane recalculates from one plan. Sizes are **GiB = 2^30 bytes**.
"""

FIELD_KEYS = (
    ("tab / shift+tab", "next / previous field"),
    ("escape", "leave the field (the digit keys switch tabs again)"),
    ("alt+1 ... (Option+1 ...)", "switch tabs from inside a field"),
    ("up / down, enter", "model list: move, pick"),
    ("ctrl+a / ctrl+e / ctrl+k", "start / end of the field / delete to its end"),
)

MORE = """\
## Inputs

* Numbers accept `8,192`, `8_192`, and `32k` for token counts (32k = 32,768); the memory
  fraction accepts `0.9` or `90%`. A blank context means the model's own limit.
* An invalid value turns its field red with the reason; the panes keep the last valid plan and
  say so (a yellow line above them names the field that holds the plan back).
* Model: type to filter the catalog, your catalog entries and the Hugging Face cache
  (`~/.cache/huggingface/hub`); `up`/`down` move, `enter` picks.
* Warnings from the plan mark their field in yellow; hover or see the Warnings box.

## Files

Sessions are TOML in the data folder (`$GPUPLAN_HOME/sessions`), every save keeps the previous
version. Unsaved work goes to a recovery file every few seconds and when the terminal closes;
the next start offers it back. `gpuplan open FILE --watch` reloads FILE when it changes on disk;
the app never writes to it unless you save. Errors go to the JSON log in the state folder.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(rows: Iterable[tuple[str, str]]) -> str:
    lines = ["| key | does |", "|---|---|"]
    lines += [f"| `{_cell(k)}` | {_cell(d)} |" for k, d in rows]
    return "\n".join(lines) + "\n"


_SHOWN = {"question_mark": "?", "delete": "del", "pageup": "PgUp", "pagedown": "PgDn"}


def _display(app: Any, binding: Binding) -> str:
    """A key as a user types it (`ctrl+s`, `?`), the way the palette and README spell it."""
    return _SHOWN.get(binding.key, binding.key)


def app_keys(app: Any) -> list[tuple[str, str]]:
    """The app's own keys, one row per action; the tab keys one row per tab."""
    rows: list[tuple[str, str]] = [("ctrl+p", "command palette: every action (export, import, theme, ...)")]
    tabs: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for binding in type(app).BINDINGS:
        if not isinstance(binding, Binding):
            continue
        action = binding.action
        if action.startswith("tab("):
            key = binding.key
            if key in OPTION_DIGITS or any(key == name for name in _option_names()):
                continue  # folded into the alt+digit entry
            tabs.setdefault(action, []).append(key)
            continue
        shown = ", ".join(_display(app, Binding(k.strip(), action)) for k in binding.key.split(","))
        if action in seen:
            i = seen[action]
            rows[i] = (rows[i][0] + ", " + shown, rows[i][1])
            continue
        seen[action] = len(rows)
        rows.append((shown, binding.description or action))
    for spec in (*_panes(app), *SESSION_TABS):
        keys = tabs.get(f"tab('{spec.tab}')", [])
        if keys:
            rows.append((" / ".join(keys), f"{spec.title} tab"))
    return rows


def _panes(app: Any) -> tuple[Any, ...]:
    return getattr(app, "pane_specs", PANES)


def _option_names() -> tuple[str, ...]:
    from ..keys import OPTION_DIGIT_KEYS

    return OPTION_DIGIT_KEYS


def pane_keys(app: Any, spec: Any) -> list[tuple[str, str]] | None:
    """The keys a registered pane and its widgets bind (our widgets, not Textual's cursor keys);
    None while the pane is not mounted yet."""
    pane = app.pane(spec.widget_id) if hasattr(app, "pane") else None
    if pane is None:
        return None
    return class_keys(app, (type(w) for w in (pane, *pane.walk_children())))


def class_keys(app: Any, classes: Iterable[type]) -> list[tuple[str, str]]:
    """The keys these widget classes bind (ours, not Textual's), one row each, in order."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for cls in classes:
        if not cls.__module__.startswith("tui."):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if not isinstance(binding, Binding):
                continue
            row = (", ".join(_display(app, Binding(k.strip(), binding.action)) for k in binding.key.split(",")),
                   binding.description or binding.action)
            if row not in seen:
                seen.add(row)
                rows.append(row)
    return rows


def help_text(app: Any) -> str:
    parts = [INTRO, "## Keys everywhere\n", _table(app_keys(app)), "## In a field\n", _table(FIELD_KEYS)]
    for spec in _panes(app):
        rows = pane_keys(app, spec)
        if rows is None:
            parts.append(f"## {spec.title} tab\n\n(its keys are listed once the tab has loaded)\n")
        elif rows:
            parts += [f"## {spec.title} tab\n", _table(rows)]
    for tab in SESSION_TABS:  # listed with its keys while absent too, and when it is there
        rows = pane_keys(app, tab) or class_keys(app, tab.widget_classes())
        parts += [f"## {tab.title} tab\n", f"{tab.when}\n", _table(rows)]
    parts.append(MORE)
    return "\n".join(parts)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = tcss("dialogs.tcss")
    SCOPED_CSS = False
    AUTO_FOCUS = "#help-box"
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close"),
        Binding("j", "scroll('down')", "Scroll down", show=False),
        Binding("k", "scroll('up')", "Scroll up", show=False),
        Binding("space", "scroll('page_down')", "Page down", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.source = ""  # the Markdown shown, once composed

    def compose(self) -> ComposeResult:
        from rich.markdown import Markdown

        self.source = help_text(self.app) + _monitor_help()
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            box.border_subtitle = "↑↓ PgUp PgDn scroll · esc closes"
            yield Static(_Themed(Markdown(self.source), _markdown_theme(self.app)), id="help-text")

    def action_scroll(self, where: str) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        {"down": box.scroll_down, "up": box.scroll_up, "page_down": box.scroll_page_down}[where](animate=False)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class _Themed:
    """A Rich renderable drawn under a theme of its own: Rich's Markdown styles (`markdown.*`)
    in the app theme's colours, instead of Rich's fixed cyan-on-black code and magenta titles."""

    def __init__(self, renderable: Any, theme: Any) -> None:
        self.renderable, self.theme = renderable, theme

    def __rich_console__(self, console: Any, options: Any):
        with console.use_theme(self.theme):
            yield from console.render(self.renderable, options)


def _markdown_theme(app: Any) -> Any:
    from rich.theme import Theme

    theme = getattr(app, "current_theme", None)
    primary = getattr(theme, "primary", None) or "cyan"
    accent = getattr(theme, "accent", None) or primary
    return Theme({
        "markdown.h1": f"bold {primary}", "markdown.h2": f"bold {primary}", "markdown.h3": f"bold {accent}",
        "markdown.code": f"bold {accent}", "markdown.table.border": primary,
        "markdown.table.header": "bold", "markdown.list": primary, "markdown.item.bullet": f"bold {primary}",
    })


def _monitor_help() -> str:
    """The Monitor's keys, columns and alert rules, from the Monitor's own tables."""
    from ..widgets.monitor import MonitorPane
    from ..widgets.monitor_help import monitor_help

    return monitor_help(MonitorPane.BINDINGS)
