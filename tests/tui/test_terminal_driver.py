"""The input thread of QuietLinuxDriver (tui/terminal_driver.py), on a real pty: keys arrive, a
lone ESC still becomes the escape key once ESCDELAY has passed, stopping ends the thread at once,
the end of input does not make it spin, and while nothing is typed it does not wake at all
(Textual's LinuxDriver wakes ten times a second, 1.8 ms/s of CPU on the machines measured)."""

from __future__ import annotations

import os
import pty
import selectors
import signal
import threading
import time
import tty

import pytest
from textual import constants, events

from tui.terminal_driver import QuietLinuxDriver


class _Recorder(QuietLinuxDriver):
    """The driver reading `fd`, recording the events it would hand the app."""

    def __init__(self, fd: int) -> None:
        handlers = {s: signal.getsignal(s) for s in (signal.SIGTSTP, signal.SIGCONT)}
        try:
            super().__init__(object())
        finally:  # LinuxDriver installs its suspend handlers: not in the test process
            for s, h in handlers.items():
                signal.signal(s, h)
        self.fileno = fd
        self.seen: list[events.Event] = []
        self.arrived = threading.Condition()

    def process_message(self, message) -> None:  # noqa: ANN001
        with self.arrived:
            self.seen.append(message)
            self.arrived.notify_all()

    def wait_for(self, predicate, timeout: float = 2.0) -> bool:  # noqa: ANN001
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.seen), timeout)


@pytest.fixture
def selects(monkeypatch):
    """The number of select() calls made so far (the input thread is the only SelectSelector)."""
    calls = [0]
    original = selectors.SelectSelector.select

    def counting(self, timeout=None):  # noqa: ANN001
        calls[0] += 1
        return original(self, timeout)

    monkeypatch.setattr(selectors.SelectSelector, "select", counting)
    return calls


def _keys(seen) -> list[str]:  # noqa: ANN001
    return [e.key for e in seen if isinstance(e, events.Key)]


async def test_keys_arrive_a_lone_escape_times_out_and_idle_makes_no_wakeups(selects):
    master, slave = pty.openpty()
    tty.setraw(slave)  # as the driver's start_application_mode sets it: bytes as they come
    driver = _Recorder(slave)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        time.sleep(0.6)  # idle: Textual's thread would have woken 6 times by now
        assert selects[0] <= 1
        os.write(master, b"a")
        assert driver.wait_for(lambda seen: "a" in _keys(seen))
        sent = time.monotonic()
        os.write(master, b"\x1b")  # ESC alone: a key only once ESCDELAY passes with nothing after it
        assert driver.wait_for(lambda seen: "escape" in _keys(seen))
        assert time.monotonic() - sent >= constants.ESCAPE_DELAY * 0.9
        settled = selects[0]
        time.sleep(0.4)  # the ESC deadline was one wait, not a return to polling
        assert selects[0] == settled
        os.write(master, b"\x1b[A")  # an escape sequence in one read: the up key, no waiting
        assert driver.wait_for(lambda seen: "up" in _keys(seen))
        driver.exit_event.set()
        thread.join(0.5)
        assert not thread.is_alive(), "the stop did not wake the input thread"
    finally:
        driver.exit_event.set()
        driver.close()
        driver.exit_event.set()  # after close: writes to no descriptor, raises nothing
        os.close(master)
        os.close(slave)


async def test_the_end_of_input_is_left_alone_not_read_again_and_again(selects):
    read_end, write_end = os.pipe()  # stdin that is not a terminal, as when it is redirected
    driver = _Recorder(read_end)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        os.write(write_end, b"q")
        assert driver.wait_for(lambda seen: "q" in _keys(seen))
        os.close(write_end)
        time.sleep(0.3)
        assert selects[0] <= 4  # no spin on a descriptor that is always "readable" at its end
        driver.exit_event.set()
        thread.join(0.5)
        assert not thread.is_alive()
    finally:
        driver.exit_event.set()
        driver.close()
        os.close(read_end)


def test_gpuplan_on_a_real_terminal_takes_keys_and_quits_at_once(tmp_path):
    """`gpuplan watch` on a pty (the driver launch.py picks): after some idle seconds, ctrl+q
    ends it at once with exit status 0: its keys reach the app and the stop wakes the thread."""
    from .test_robust_hangup import ROOT, gone_within, read_until, spawn

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(GPUPLAN_HOME=str(tmp_path / "home"), HF_HOME=str(tmp_path / "hf"), TERM="xterm-256color",
               COLUMNS="100", LINES="30", PYTHONPATH=str(ROOT))
    pid, master = spawn(["-m", "tui.cli", "watch", "--simulate", "2"], env)
    try:
        assert b"GPU" in read_until(master, b"GPU", 60.0)
        read_until(master, b"\x00never", 1.5)  # idle, reading the screen as a terminal would
        os.write(master, b"\x11")  # ctrl+q
        done, status = gone_within(pid, 5.0)
        assert done, "ctrl+q did not end gpuplan within 5 s"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(master)
