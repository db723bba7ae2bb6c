"""Suite-wide pytest settings."""

from __future__ import annotations

import os


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores. The app tests spend part of their time asleep
    (Pilot waits for the app to go idle, subprocesses start, Prometheus scrapes), and a third
    worker on this 2-core machine fills that: 231 s against 266 s for the whole suite."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config) -> None:
    """The cycle collector's young generation at 10,000 allocations instead of CPython's 700.
    A worker boots some 100 Textual apps, each allocating hundreds of thousands of objects that
    live as long as the app: at 700 the collector walked them again and again (a fifth of a
    worker's CPU went to it in tests/tui/test_snapshots.py). Measured on this 2-core machine:
    the whole suite's CPU 401 s -> 355 s; a worker's peak RSS 250-380 MB. The app itself keeps
    CPython's defaults: it boots once."""
    import gc

    gc.set_threshold(10_000, *gc.get_threshold()[1:])
