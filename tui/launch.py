"""`gpuplan`, `gpuplan open` and `gpuplan watch` start the app here: pick the telemetry backend,
install the SIGHUP/SIGTERM handlers (a dropped SSH connection writes the recovery, then exits),
run the app. tui/cli.py calls it; nothing in the app imports it back."""

from __future__ import annotations

import signal
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
) -> int:
    """Pick the telemetry backend, install the SIGHUP/SIGTERM handlers, run the app.
    `metrics`: also serve the monitor's samples on this address (`watch --metrics`)."""
    from engine.telemetry.backend import BackendUnavailable, create_backend

    logs.configure()
    metrics_server = None
    try:
        backend = create_backend(simulate=simulate, replay=replay, record=record)
        if metrics:
            from .fleet_cli import serve_watch_metrics

            backend, metrics_server = serve_watch_metrics(backend, metrics, allow_remote=allow_remote)
    except (BackendUnavailable, OSError, ValueError) as exc:
        raise BadInput(str(exc)) from exc
    app = GpuPlanApp(session_path, watch=watch_file, monitor_first=monitor_first, interval=interval,
                     backend=backend, recording=record)
    if metrics_server is not None:
        from .fleet_cli import follow_plan

        follow_plan(metrics_server, lambda: app.plan)
    previous = {}
    for sig in (signal.SIGHUP, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, app.handle_signal)
        except (ValueError, OSError):  # not the main thread / not supported here
            pass
    try:
        result = app.run(mouse=mouse)
    except OSError as exc:  # the terminal went away under us (after a hangup)
        logs.log_exception("run", exc)
        result = app.return_code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if metrics_server is not None:
            metrics_server.stop()
    code = app.return_code if app.return_code is not None else (result or 0)
    return int(code or 0)
