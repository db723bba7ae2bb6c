"""Helpers for the Monitor tab tests: a tiny harness app around MonitorPane, deterministic
samples (simulated backend with fixed timestamps, scripted incidents) and plans built with the
engine from the bundled catalog data."""

from __future__ import annotations

import dataclasses
import tomllib
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Iterable

from textual.app import App, ComposeResult

from engine.hardware import GpuSpec
from engine.inputs import PlanInputs, ServingInputs
from engine.model import from_hf_config
from engine.plan import plan
from engine.telemetry.health import AlertBook
from engine.telemetry.nvml import LIBRARY_NOT_FOUND
from engine.telemetry.samples import GpuSample, HostSample
from engine.telemetry.simulated import SimulatedBackend
from tui.widgets.monitor import MonitorPane

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: fixed timestamps for deterministic screens
TRACE_8GPU = DATA / "sim-8gpu-incidents.jsonl"


@cache
def _catalog(kind: str) -> dict[str, dict]:
    data = tomllib.loads((ROOT / "catalogs" / "data" / f"{kind}s.toml").read_text())
    return {e["id"]: e for e in data[kind]}


def make_plan(model: str = "llama-3.1-70b", gpu: str = "h100-sxm-80gb", tp: int = 4, *,
              memory_fraction: float = 0.90, name: str = "", pp: int = 1, max_model_len: int = 8192):
    entry = _catalog("model")[model]
    spec = from_hf_config(entry["config"], id=model, name=entry.get("name", ""))
    gpu_spec = GpuSpec(**_catalog("gpu")[gpu])
    inputs = PlanInputs(
        model=spec, gpu=gpu_spec, tensor_parallel=tp, pipeline_parallel=pp, name=name,
        serving=ServingInputs(memory_fraction=memory_fraction, max_model_len=max_model_len),
    )
    return plan(inputs)


def sim(n: int = 8, **kwargs) -> SimulatedBackend:
    kwargs.setdefault("start_time", T0)
    return SimulatedBackend(n_gpus=n, seed=kwargs.pop("seed", 0), **kwargs)


def samples(backend, k: int) -> list[HostSample]:
    return [backend.sample() for _ in range(k)]


def no_driver_sample() -> HostSample:
    return HostSample(timestamp=T0, hostname="gpu-host", backend="nvml", error=LIBRARY_NOT_FOUND)


def with_gpu(sample: HostSample, index: int, **changes) -> HostSample:
    gpus = tuple(dataclasses.replace(g, **changes) if g.index == index else g for g in sample.gpus)
    return dataclasses.replace(sample, gpus=gpus)


def lost(sample: HostSample, index: int, error: str = "NVML: GPU is lost") -> HostSample:
    g = sample.gpu(index)
    assert g is not None
    bare = GpuSample(index=index, uuid=g.uuid, name=g.name, bus_id=g.bus_id, state="lost", error=error)
    gpus = tuple(bare if x.index == index else x for x in sample.gpus)
    return dataclasses.replace(sample, gpus=gpus)


class MonitorHarness(App):
    """MonitorPane alone on a screen (until the tests switch to GpuPlanApp)."""

    def __init__(self, feed: Iterable[HostSample] = (), plan=None, *, notify_alerts: bool = False,
                 alert_book: AlertBook | None = None, **pane_kwargs) -> None:
        super().__init__()
        self._feed = list(feed)
        self._plan = plan
        self._pane_kwargs = dict(pane_kwargs, notify_alerts=notify_alerts)
        if alert_book is not None:
            self._pane_kwargs["alert_book"] = alert_book

    def compose(self) -> ComposeResult:
        yield MonitorPane(id="monitor", **self._pane_kwargs)

    def on_mount(self) -> None:
        pane = self.monitor_pane
        if self._plan is not None:
            pane.set_plan(self._plan)
        for s in self._feed:
            pane.update_sample(s)

    @property
    def monitor_pane(self) -> MonitorPane:
        return self.query_one(MonitorPane)


def screen_lines(app: App) -> list[str]:
    """The screen as plain text lines (what a user sees, without colours)."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def widget_lines(app: App, widget) -> list[str]:
    """The screen lines inside a widget's region."""
    r = widget.region
    return [line[r.x:r.x + r.width] for line in screen_lines(app)[r.y:r.y + r.height]]



def plain(widget) -> str:
    """The plain text a Static (Text, str or a Group of them) or a FitsLine was last given."""
    from rich.console import Group
    from rich.text import Text

    if not hasattr(widget, "content"):  # a FitsLine: the text it was given, before wrapping
        return widget.plain
    content = widget.content
    parts = content.renderables if isinstance(content, Group) else [content]
    return "\n".join(p.plain if isinstance(p, Text) else str(p) for p in parts)


# ---- the real app ----------------------------------------------------------------------------


def deliver(app, sample: HostSample) -> None:
    """Hand a sample to the app as its sampler thread would (through its HostSampleReady
    handler, so the header and the Monitor tab both see it), synchronously and in order."""
    from tui.messages import HostSampleReady

    app.on_host_sample_ready(HostSampleReady(sample))


@asynccontextmanager
async def open_monitor(size=(120, 40), feed: Iterable[HostSample] = (), plan=None, *, monitor_first: bool = True,
                       session=None, **app_kwargs):
    """GpuPlanApp as `gpuplan watch` opens it (Monitor tab, sidebar collapsed), no sampler thread:
    the test delivers the samples. Waits for the first plan; `plan` then replaces it."""
    from tui.app import GpuPlanApp

    from .conftest import settle

    app_kwargs.setdefault("telemetry", False)
    app = GpuPlanApp(session, monitor_first=monitor_first, **app_kwargs)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if plan is not None:
            app.monitor_pane.set_plan(plan)
        for s in feed:
            deliver(app, s)
        await pilot.pause()
        yield app, pilot
