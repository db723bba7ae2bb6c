"""`?`: what the app does, its keys, and how the inputs are read."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from ..css import tcss
from ..pane_registry import PANES

HELP = """\
# gpuplan

Size LLM serving on GPUs as you type. Pick a model and hardware in the **inputs** sidebar, set the
workload; every pane recalculates from one plan. Sizes are **GiB = 2^30 bytes**.

## Keys

| key | does |
|---|---|
| `ctrl+p` | command palette: every action (export, import, theme, rename, ...) |
| `ctrl+s` | save (asks a name the first time) |
| `ctrl+o` | open a saved session or a file |
| `ctrl+n` | new session |
| `ctrl+b` | show / hide the inputs sidebar |
| `1` ... `{last}`, `alt+1` ... | {tabs} |
| `tab` / `shift+tab` | next / previous field |
| `?` or `f1` | this help |
| `ctrl+q` | quit (asks if there are unsaved changes) |

In the **Sessions** tab: `enter` opens, `a` / `b` pick the two sides of the diff, `r` renames,
`delete` moves a session to the trash (`.trash` in the sessions folder).

## Inputs

* Numbers accept `8,192`, `8_192`, and `32k` for token counts (32k = 32,768); the memory
  fraction accepts `0.9` or `90%`. A blank context means the model's own limit.
* An invalid value turns its field red with the reason; the last valid plan stays on screen.
* Model: type to filter the catalog, your catalog entries and the Hugging Face cache
  (`~/.cache/huggingface/hub`); `up`/`down` move, `enter` picks.
* Warnings from the plan mark their field in yellow; hover or see the Warnings box.

## Files

Sessions are TOML in the data folder (`$GPUPLAN_HOME/sessions`), every save keeps the previous
version. Unsaved work goes to a recovery file every few seconds and when the terminal closes;
the next start offers it back. `gpuplan open FILE --watch` reloads FILE when it changes on disk;
the app never writes to it unless you save. Errors go to the JSON log in the state folder.
""".format(
    last=len(PANES), tabs=", ".join(spec.title for spec in PANES))  # the tabs as registered


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = tcss("dialogs.tcss")
    SCOPED_CSS = False
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            box.border_subtitle = "esc closes"
            yield Markdown(HELP + _monitor_help())

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


def _monitor_help() -> str:
    """The Monitor's keys, columns and alert rules, from the Monitor's own tables."""
    from ..widgets.monitor import MonitorPane
    from ..widgets.monitor_help import monitor_help

    return monitor_help(MonitorPane.BINDINGS)
