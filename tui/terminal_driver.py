"""The terminal driver `gpuplan` runs on: Textual's LinuxDriver, with an input thread that sleeps
until there is input.

Textual's input thread wakes every 0.1 s (`select` with a 0.1 s timeout) to see whether a lone
ESC has waited long enough to be a key of its own (ESCDELAY) and whether the app is exiting:
ten wake-ups a second for as long as the app runs, typing or not. On the VMs gpuplan was
measured on, a timed wake-up costs 0.1-0.2 ms of CPU (a bare `select(0.1)` loop: 164 us a
wake-up), so that thread alone took 1.8 ms/s, more than sampling 8 GPUs over NVML (perf stat
--per-thread on `gpuplan watch`, issue 9). Here the thread waits with no timeout unless the
parser holds a half-read sequence, and then exactly until that sequence's deadline; stopping
wakes it through a pipe. Everything else is LinuxDriver's.

Relies on two private names of the pinned Textual (pyproject.toml): the parser's
`_timeout_time` (when a pending ESC becomes a key) and the driver's `exit_event` (which
`disable_input` sets, then joins the thread). tests/tui/test_terminal_driver.py holds both to
their behaviour.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(threading.Event):
    """An Event whose `set()` also writes a byte to a pipe the input thread selects on."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        try:
            os.write(self._wake_fd, b"\0")
        except OSError:  # the pipe is full (a wake-up is already pending) or closed
            pass


def wait_for(parser: XTermParser) -> float | None:
    """How long the input thread may sleep: until the parser's pending sequence times out
    (a lone ESC becomes the escape key), or with no limit when nothing is pending."""
    deadline = parser._timeout_time  # noqa: SLF001 - see the module docstring
    return None if deadline is None else max(0.0, deadline - get_time())


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread wakes only for input, a due ESC timeout or the stop."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def run_input_thread(self) -> None:
        """Read the terminal and hand each parsed event to the app, as LinuxDriver does."""
        # select(2), as LinuxDriver uses: epoll refuses some terminal file descriptors
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def dispatch(events: Any) -> None:
            for event in events:
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                for key, _mask in selector.select(wait_for(parser)):
                    if key.fd == self._wake_read:
                        _drain(self._wake_read)
                        continue
                    try:
                        raw = os.read(self.fileno, 4096)
                    except OSError:  # EIO: the terminal hung up (the SIGHUP handler ends the app)
                        raw = b""
                    if not raw:  # end of input: stdin was not a terminal, or it hung up
                        selector.unregister(self.fileno)  # rather than wake for it forever
                        continue
                    data = decode(raw)
                    if data:
                        dispatch(parser.feed(data))
                dispatch(parser.tick())  # a pending ESC whose time has come
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):  # end the parser, as LinuxDriver does
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        self.exit_event._wake_fd = -1  # a later set() must not write to a reused descriptor
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except (BlockingIOError, OSError):
        pass
