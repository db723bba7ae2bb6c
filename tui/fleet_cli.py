"""`gpuplan exporter` and `gpuplan fleet`: headless, no Textual import.

`exporter` samples the GPUs (NVML, or `--simulate N` / `--replay TRACE`) on a thread and serves
`/metrics` in dcgm-exporter's names until SIGINT/SIGTERM. `fleet --once` prints one snapshot of
every host a Prometheus server knows, as text or JSON; without `--once` it opens the Fleet tab.
Exit codes as everywhere: 0 ok, 2 bad input (or an unreachable/erroring Prometheus), 1 internal.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import zlib
from functools import wraps
from pathlib import Path
from typing import Any, Callable

from .errors import EXIT_BAD_INPUT, EXIT_OK, BadInput

def _exits_2_on_bad_input(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    @wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except BadInput as exc:
            print(f"gpuplan {args.command}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run

# ------------------------------------------------------------------------------------------
# parsers (tui/cli.py adds them to its subcommands)
# ------------------------------------------------------------------------------------------


def add_exporter_parser(sub: Any) -> None:
    ex = sub.add_parser(
        "exporter",
        help="serve /metrics (dcgm-exporter names) from the GPU monitor, without a UI",
        description="Serve the monitor's newest sample as Prometheus metrics, in dcgm-exporter's "
        "names and labels. Binds to loopback unless --allow-remote is given.",
    )
    ex.add_argument("--listen", default="127.0.0.1:9400", metavar="ADDR",
                    help="HOST:PORT to serve on (default 127.0.0.1:9400)")
    ex.add_argument("--allow-remote", action="store_true",
                    help="allow a listen address other than loopback (prints a warning)")
    src = ex.add_mutually_exclusive_group()
    src.add_argument("--simulate", type=int, metavar="N", help="N simulated GPUs instead of NVML")
    src.add_argument("--replay", type=Path, metavar="TRACE", help="play a recorded trace instead of NVML")
    ex.add_argument("--hostname", metavar="NAME", help="the Hostname label (default: this host's name)")
    ex.add_argument("--interval", type=float, default=1.0, help="seconds between GPU samples (default 1)")
    ex.add_argument("--session", type=Path, metavar="FILE",
                    help="a session file: also export whether its plan fits here (gpuplan_fits_here)")


def add_fleet_parser(sub: Any) -> None:
    fl = sub.add_parser(
        "fleet",
        help="every GPU host a Prometheus server scrapes (dcgm-exporter metrics)",
        description="Query Prometheus for dcgm-exporter metrics (from gpuplan exporter or NVIDIA's "
        "own) and show hosts, GPUs, stale hosts, alerts and where a plan fits.",
    )
    fl.add_argument("file", type=Path, nargs="?", help="session whose plan 'fits where' answers for")
    fl.add_argument("--prometheus", metavar="URL",
                    help="Prometheus base URL, e.g. http://127.0.0.1:9090 (default: the session's [fleet] prometheus)")
    fl.add_argument("--once", action="store_true", help="print one snapshot and exit (no UI)")
    fl.add_argument("--format", choices=("text", "json"), default="text", help="with --once (default text)")
    fl.add_argument("--timeout", type=float, default=10.0, help="seconds per Prometheus query (default 10)")
    fl.add_argument("--interval", type=float, default=5.0, help="seconds between refreshes in the UI (default 5)")
    fl.add_argument("--lookback", metavar="DURATION",
                    help="how far back to remember hosts that stopped reporting (PromQL duration; default the "
                    "session's [fleet] lookback, else 1h)")
    fl.add_argument("--gpu-model", metavar="TEXT",
                    help="only GPUs whose modelName contains TEXT count for 'fits where' (default: the plan's GPU)")
    fl.add_argument("--no-mouse", action="store_true", help=argparse.SUPPRESS)


# ------------------------------------------------------------------------------------------
# exporter
# ------------------------------------------------------------------------------------------


def _session_plan(path: Path) -> tuple[int, int, str, Any]:
    """(bytes free per GPU, GPUs per replica, GPU id, the session's [fleet] table or None)."""
    from catalogs.loader import CatalogError, load_catalog
    from engine.plan import plan
    from sessions.io import SessionError, parse_session
    from sessions.resolve import to_plan_inputs

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    try:
        session = parse_session(text, str(path))
        p = plan(to_plan_inputs(session, load_catalog(), file=str(path), text=text))
    except (SessionError, CatalogError) as exc:
        raise BadInput(str(exc)) from None
    tp = max(1, p.inputs.tensor_parallel * p.inputs.pipeline_parallel)
    return int(round(p.memory.budget_bytes)), tp, _plan_gpu_name(p), getattr(session, "fleet", None)


def _plan_gpu_name(p: Any) -> str:
    gpu = getattr(p.inputs, "gpu", None)
    return str(getattr(gpu, "id", "") or getattr(gpu, "name", "") or "")


@_exits_2_on_bad_input
def cmd_exporter(args: argparse.Namespace) -> int:
    from engine.telemetry.backend import BackendUnavailable, create_backend
    from engine.telemetry.exporter import BindRefused, LatestSample, MetricsServer
    from engine.telemetry.sampler import Sampler

    if args.interval <= 0:
        raise BadInput(f"--interval {args.interval}: must be > 0")
    if args.simulate is not None and args.simulate < 0:
        raise BadInput(f"--simulate {args.simulate}: must be >= 0")
    fits: Callable | None = None
    if args.session is not None:
        from engine.telemetry.fits import fits_here

        need, tp, _, _ = _session_plan(args.session)
        fits = lambda s: fits_here(need, tp, s)  # noqa: E731
    latest = LatestSample(fits=fits)
    try:
        server = MetricsServer(latest, args.listen, allow_remote=args.allow_remote, hostname=args.hostname)
    except BindRefused as exc:
        raise BadInput(str(exc)) from None
    except ValueError as exc:
        raise BadInput(f"--listen: {exc}") from None
    if server.warning:
        print(f"gpuplan exporter: {server.warning}", file=sys.stderr)

    if args.simulate is not None:
        from engine.telemetry.simulated import SimulatedBackend

        name = args.hostname or "sim-host"
        # a seed per host name: simulated hosts differ from one another, and stay the same per name
        backend: Any = SimulatedBackend(n_gpus=args.simulate, seed=zlib.crc32(name.encode()), hostname=name)
    else:
        try:
            backend = create_backend(replay=args.replay)
        except (BackendUnavailable, OSError, ValueError) as exc:
            raise BadInput(str(exc)) from None

    stop = threading.Event()
    first = threading.Event()

    def on_sample(sample: Any) -> None:
        latest.update(sample)
        first.set()

    sampler = Sampler(backend, on_sample, interval_s=args.interval, thread_name="gpuplan-exporter-sampler")
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    sampler.start()
    try:
        first.wait(10.0)  # serve once there is something to serve (a scrape before that is empty)
        try:
            server.start()
        except OSError as exc:
            raise BadInput(f"--listen {args.listen}: cannot bind: {exc.strerror or exc}") from None
        print(f"gpuplan exporter: serving {server.url} ({backend.name})", file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        sampler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# fleet
# ------------------------------------------------------------------------------------------


@_exits_2_on_bad_input
def cmd_fleet(args: argparse.Namespace) -> int:
    from engine.telemetry.fleet import FleetError, FleetQuery, PlanNeed, parse_duration

    if args.timeout <= 0:
        raise BadInput(f"--timeout {args.timeout}: must be > 0")
    need = None
    url, lookback = args.prometheus, args.lookback
    if args.file is not None:
        per_gpu, tp, gpu_name, fleet = _session_plan(args.file)
        need = PlanNeed(per_gpu_bytes=per_gpu, gpus_per_replica=tp, gpu=args.gpu_model or gpu_name,
                        exact_model=args.gpu_model is not None)
        if fleet is not None:
            url = url or fleet.prometheus
            lookback = lookback or fleet.lookback
    elif args.gpu_model:
        raise BadInput("--gpu-model needs a session file: it says which GPUs the plan can use")
    if not url:
        raise BadInput("no Prometheus to ask: give --prometheus URL (or a session with a [fleet] prometheus)")
    try:
        lookback_s = parse_duration(lookback or "1h")
    except ValueError as exc:
        raise BadInput(f"--lookback: {exc}") from None
    try:
        query = FleetQuery(url, timeout_s=args.timeout, lookback_s=lookback_s)
    except ValueError as exc:
        raise BadInput(f"--prometheus: {exc}") from None

    if not args.once:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise BadInput("the Fleet view needs a terminal; use --once [--format json|text] for a snapshot")
        from .fleet_app import run_fleet_app

        return run_fleet_app(query, need, interval_s=args.interval, mouse=not args.no_mouse)

    try:
        with query:
            snap = query.snapshot(need)
    except FleetError as exc:
        print(f"gpuplan fleet: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.format == "json":
        sys.stdout.write(json.dumps(snap.to_json(), indent=2) + "\n")
    else:
        from engine.telemetry.fleet_text import render_text

        sys.stdout.write(render_text(snap))
    return EXIT_OK


# ------------------------------------------------------------------------------------------
# watch --metrics: the app's own sampler feeds /metrics
# ------------------------------------------------------------------------------------------


def serve_watch_metrics(backend: Any, listen: str, *, allow_remote: bool = False) -> tuple[Any, Any]:
    """Wrap the app's telemetry backend so each sample it takes is also served on `listen`, and
    start the server. Returns (backend for the app, server to stop on exit). ValueError for a
    malformed or refused address (a non-loopback one without allow_remote), OSError if taken."""
    from engine.telemetry.exporter import LatestSample, MetricsServer, PublishingBackend

    latest = LatestSample()
    server = MetricsServer(latest, listen, allow_remote=allow_remote)
    if server.warning:
        print(f"gpuplan watch: {server.warning}", file=sys.stderr)
    server.start()
    return PublishingBackend(backend, latest), server


def follow_plan(server: Any, plan_of: Callable[[], Any]) -> None:
    """Export "fits here" for whatever plan `plan_of()` returns when a sample arrives."""
    from engine.telemetry.fits import fits_here

    def fits(sample: Any) -> Any:
        p = plan_of()
        if p is None:
            return None
        tp = max(1, p.inputs.tensor_parallel * p.inputs.pipeline_parallel)
        return fits_here(int(round(p.memory.budget_bytes)), tp, sample)

    server.latest.fits = fits
