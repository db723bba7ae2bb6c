"""Fixtures for the app tests: a private GPUPLAN_HOME per test (the real home is never touched),
UTC clock, an empty Hugging Face cache, a fixed session, and helpers to drive the app."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.telemetry.samples import HostSample
from engine.telemetry.scripted import ScriptedBackend

SESSION = """\
schema_version = 1
name = "chat-70b"

[model]
catalog = "llama-3.1-70b"
weights = "bf16"
kv_cache = "auto"

[hardware]
gpu = "h100-sxm-80gb"
server = "dgx-h100"
tensor_parallel = 4
pipeline_parallel = 1

[serving]
engine = "vllm"
memory_fraction = 0.9
max_model_len = 8192
max_num_batched_tokens = 8192
concurrent_sessions = 200
prompt_tokens = 4000
output_tokens = 500
requests_per_second = 4.0

[serving.sla]
ttft_ms = 1000.0
itl_ms = 50.0

[costs]
price_per_gpu_hour = 2.5
"""


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    home = tmp_path / "gpuplan-home"
    home.mkdir()
    monkeypatch.setenv("GPUPLAN_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    from tui import app, logs

    monkeypatch.setattr(logs, "_configured", None)
    # Tabs are mounted when a test shows them, never in the background after an idle spell that
    # a slow machine makes longer (tests/tui/test_lazy_panes.py turns it on)
    monkeypatch.setattr(app, "PREFETCH_IDLE_S", None)
    yield home
    time.tzset()


@pytest.fixture
def session_file(tmp_path) -> Path:
    path = tmp_path / "chat-70b.toml"
    path.write_text(SESSION, encoding="utf-8")
    return path


def no_gpu_backend() -> ScriptedBackend:
    """What a host without an NVIDIA driver reports (deterministic: fixed time and host)."""
    return ScriptedBackend([HostSample(timestamp=1_767_225_600.0, hostname="testhost", backend="nvml",
                                       error="NVML library not found: no NVIDIA driver on this host")])


def make_app(session_path: Path | None = None, **kwargs):
    from tui.app import GpuPlanApp

    kwargs.setdefault("backend", no_gpu_backend())
    return GpuPlanApp(session_path, **kwargs)


async def settle(pilot) -> None:
    """Wait until the app has booted, its fields are on screen and the newest input is planned.

    It waits on the app's own signal (`wait_for_progress`: boot done, a plan or refusal landed,
    the fields mounted, a worker ended), never on a clock: a slow machine only makes it later.
    Settled twice in a row, with the message queues drained between, so a keystroke whose edit
    is still on its way to the app is not missed. A hung app is the suite's timeout's business.
    """
    app = pilot.app
    while True:
        await pilot.pause()  # drains queued messages: key -> Input.Changed -> FieldEdited
        if app.settled:
            await pilot.pause()
            if app.settled:
                return
            continue
        if not app.is_running:
            raise AssertionError("the app exited before it settled")
        await app.wait_for_progress()


def scenario_rows(app) -> list[list[str]]:
    from textual.widgets import DataTable

    from tui.widgets.sizing import scenario_cells

    return scenario_cells(app.query_one("#scenario-table", DataTable))


def memory_rows(app) -> list[list[str]]:
    from textual.widgets import DataTable

    from tui.widgets.sizing import scenario_cells

    return scenario_cells(app.query_one("#memory-table", DataTable))


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus an input, select everything in it and type `text` key by key."""
    from textual.widgets import Input

    widget = pilot.app.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    widget.select_all()
    # one key at a time, each waited for as Pilot does; the first replaces the selection
    await pilot.press(*(text or ["backspace"]))


def send_keys(app, *keys: str) -> None:
    """Deliver keys the way a terminal does, all at once: through the driver, without Pilot's
    idle wait after each key (which hides any reordering of keys on a busy app)."""
    from textual import events
    from textual.keys import _get_unicode_name_from_key
    import unicodedata

    for key in keys:
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def screen_settled(pilot, rounds: int = 50) -> None:
    """Until two renders in a row show the same screen: the layout pass and the tables' idle-time
    sizing that follow the last change are done (on a loaded machine they can come after
    Pilot's own pauses). The screen's own state, never a clock."""
    last = None
    for _ in range(rounds):
        await pilot.pause()
        now = ["".join(seg.text for seg in strip) for strip in pilot.app.screen._compositor.render_strips()]
        if now == last:
            return
        last = now


@pytest.fixture
def snap_compare(snap_compare):
    """pytest-textual-snapshot's `snap_compare`, taking the screenshot only once the screen has
    settled after `run_before` (see `screen_settled`)."""
    import inspect

    def compare(app, *args, run_before=None, **kwargs):
        async def then_settle(pilot) -> None:
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            await screen_settled(pilot)

        return snap_compare(app, *args, run_before=then_settle, **kwargs)

    return compare
