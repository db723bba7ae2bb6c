"""SIGHUP/SIGTERM: write the recovery, then be gone within seconds whatever the UI does.

A dropped SSH connection closes the terminal under Textual; its driver can then block for ever
(the main thread in `Queue.put` inside `WriterThread.stop`, the writer thread in `Queue.get`;
Textual issue #6692), and a process that ignores SIGTERM piles up on the host. So the handler
(1) arms a watchdog thread first, (2) runs the app's own handler (recovery written, a clean exit
requested), and (3) the watchdog ends the process with `os._exit` once the recovery is safe and
the clean exit has had `grace_s` to happen, `deadline_s` after the signal at the latest. A second
signal ends it at once. Plain Python: no Textual import, testable on its own.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("gpuplan.hangup")

SIGNALS = tuple(s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None)


class HangupWatchdog:
    """Installs handlers for SIGHUP and SIGTERM that call `on_signal(signum)` (write recovery,
    request exit) and guarantee the process ends: `os._exit(128 + signum)` at most
    `deadline_s` after the signal, or `grace_s` after `on_signal` returned."""

    def __init__(
        self,
        on_signal: Callable[[int], Any],
        *,
        grace_s: float = 2.0,
        deadline_s: float = 4.5,
        exit: Callable[[int], Any] = os._exit,
    ) -> None:
        self.on_signal = on_signal
        self.grace_s = grace_s
        self.deadline_s = deadline_s
        self._exit = exit
        self._fired: int | None = None
        self._safe = threading.Event()  # the recovery is written (or there was nothing to write)
        self._previous: dict[int, Any] = {}
        self.thread: threading.Thread | None = None

    def install(self) -> HangupWatchdog:
        for sig in SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):  # not the main thread / not supported here
                pass
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        self._previous.clear()

    def __enter__(self) -> HangupWatchdog:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    @property
    def fired(self) -> int | None:
        return self._fired

    def _handle(self, signum: int, frame: Any = None) -> None:
        if self._fired is not None:  # a second signal: no more waiting
            self._exit(128 + self._fired)
            return
        self._fired = signum
        self.thread = threading.Thread(target=self._watch, args=(signum,), name="gpuplan-hangup-watchdog", daemon=True)
        self.thread.start()
        try:
            self.on_signal(signum)
        except BaseException as exc:  # noqa: BLE001 - the watchdog still ends the process
            log.error("signal handler failed: %s", exc)
        finally:
            self._safe.set()

    def _watch(self, signum: int) -> None:
        start = time.monotonic()
        self._safe.wait(self.deadline_s)
        remaining = self.deadline_s - (time.monotonic() - start)
        time.sleep(max(0.0, min(self.grace_s, remaining)))
        log.warning("signal %d: the app did not exit within %.1f s; ending the process", signum, time.monotonic() - start)
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # noqa: BLE001
                pass
        for stream in (sys.stderr, sys.stdout):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - the terminal is likely gone
                pass
        self._exit(128 + signum)


__all__ = ["HangupWatchdog", "SIGNALS"]
