"""`gpuplan`, `gpuplan open` and `gpuplan watch` start the app here: pick the telemetry backend,
install the SIGHUP/SIGTERM handlers (a dropped SSH connection writes the recovery, then exits),
run the app. tui/cli.py calls it; nothing in the app imports it back."""

from __future__ import annotations

import os
from pathlib import Path

from . import logs
from .app import GpuPlanApp
from .errors import BadInput


def run_app(
    session_path: Path | None = None,
    watch_file: bool = False,
    monitor_first: bool = False,
    interval: float = 1.0,
    replay: Path | None = None,
    simulate: int | None = None,
    record: Path | None = None,
    mouse: bool = True,
    metrics: str | None = None,
    allow_remote: bool = False,
    record_max_mb: float | None = None,
) -> int:
    """Pick the telemetry backend, install the SIGHUP/SIGTERM handlers (with a watchdog that ends
    the process once the recovery is written, whatever the terminal driver does), run the app.
    `metrics`: also serve the monitor's samples on this address (`watch --metrics`)."""
    import logging

    from engine.telemetry.backend import BackendUnavailable, create_backend

    from .hangup import HangupWatchdog

    try:
        logs.configure()
    except OSError:
        pass  # a read-only or full state dir: the app starts and says recovery and the log are off
    logging.raiseExceptions = False  # a log write that fails later must not print over the screen
    metrics_server = None
    try:
        backend = create_backend(simulate=simulate, replay=replay, record=record, record_max_mb=record_max_mb)
        if metrics:
            from .fleet_cli import serve_watch_metrics

            backend, metrics_server = serve_watch_metrics(backend, metrics, allow_remote=allow_remote)
    except (BackendUnavailable, OSError, ValueError) as exc:
        raise BadInput(str(exc)) from exc
    recording = None
    if record is not None:
        parts = (["gzip"] if str(record).endswith(".gz") else []) + (
            [f"rotates at {record_max_mb / 2:g} MB"] if record_max_mb else [])
        recording = f"{record} ({', '.join(parts)})" if parts else str(record)  # the status line says so
    app = GpuPlanApp(session_path, watch=watch_file, monitor_first=monitor_first, interval=interval,
                     backend=backend, recording=recording)
    if os.name == "posix" and not os.environ.get("TEXTUAL_DRIVER"):  # else Textual's own choice
        from .terminal_driver import QuietLinuxDriver

        app.driver_class = QuietLinuxDriver  # its input thread sleeps until there is input
    from .heap import freeze_startup_heap

    app.after_prefetch = freeze_startup_heap  # the heap built, every tab mounted: out of the GC
    if metrics_server is not None:
        from .fleet_cli import follow_plan

        follow_plan(metrics_server, lambda: app.plan)
    watchdog = HangupWatchdog(app.handle_signal).install()
    try:
        result = app.run(mouse=mouse)
    except OSError as exc:  # the terminal went away under us (after a hangup)
        logs.log_exception("run", exc)
        result = app.return_code
    finally:
        if watchdog.fired is None:
            watchdog.uninstall()
        if metrics_server is not None:
            metrics_server.stop()
    code = app.return_code if app.return_code is not None else (result or 0)
    return int(code or 0)
