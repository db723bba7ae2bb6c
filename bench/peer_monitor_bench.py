"""Our Monitor against nvitop, side by side, on the same 8 fake GPUs (issue 9). Figures, never
asserted.

    python -m bench.peer_monitor_bench [SECONDS] [ROUNDS] [TOOLS]   (default 20 s, 3 rounds, all)

TOOLS: a comma-separated subset of nvitop, nvitop-full, gpuplan, gpuplan-simulated.

Needs the `bench` extra (`pip install -e '.[bench]'`: nvitop 1.7.2, pyte) and gcc; without
them it prints why (as JSON) and exits 0. It takes about ROUNDS x 8 x (SECONDS + ~8 s), some
12 minutes at the defaults, so `python -m bench` does not run it.

Issue 9's goal is "at most nvitop's CPU in both views", measured on the same 8 fake GPUs at a
1 s interval, side by side in one run. Here every tool runs against the fake
`libnvidia-ml.so.1` of bench/fake_nvml (8 H100 80GB HBM3 with moving metrics and real PIDs as
their processes, put first on LD_LIBRARY_PATH) in a pseudo-terminal of its own
(TERM=xterm-256color, the window size set with TIOCSWINSZ, the output read and discarded as it
comes so the tool never blocks on a full pty):

- `nvitop --interval 1`, its default monitor mode ("auto", which here picks its compact rows,
  one line per GPU, at both sizes: 8 GPUs and their processes do not fit its full view), and
  `nvitop --monitor full --interval 1` (nvitop-full: two lines per GPU; at 120x40 the GPUs
  and the host panel fill the screen and no process row shows),
- `gpuplan watch` on the real NVML backend (compact view at 120x40; detail cards at 200x50:
  `v` is pressed once the GPUs show, and the screen is checked to hold the cards),
- `gpuplan watch --simulate 8` in the same two views (no NVML calls at all),

each at 120x40 and 200x50, one after the other, the order reversed in every second round so a
change in the machine's load falls on all alike. CPU % of one core = delta(utime + stime of the
process and all its descendants, from /proc/PID/stat) / wall time, measured for SECONDS after a
warm-up (WARMUP_S, 10 s after the GPUs first show; start-up is not the steady state). CPU time,
not wall time, so other load on the machine matters less; the 1-minute load average at the
start and end is printed beside the figures.

Output: one JSON object: per (tool, size) the median, worst and spread (worst - best) of the
rounds; the ratio gpuplan/nvitop per view (median over median); and the last screen of each
tool (text, via pyte) so a reader can see that both showed 8 GPUs and their processes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GPU_NAME = "H100 80GB HBM3"
SIZES = {"compact": (120, 40), "detail": (200, 50)}
# Every tool gets this long on screen before its CPU is counted: gpuplan mounts its other tabs in
# the background once it has been idle for 2 s (tui/app.py PREFETCH_IDLE_S), a start-up cost
# of ~0.5 s of CPU that a 3 s warm-up put into the measured window.
WARMUP_S = 10.0
START_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Tool:
    name: str  # nvitop, gpuplan, gpuplan-simulated
    view: str  # compact (120x40) or detail (200x50)
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return SIZES[self.view]


# ---- a pseudo-terminal that records the screen ------------------------------------------------


class Terminal:
    """A program in its own pty of `cols` x `rows`; a thread reads everything it writes (so it
    never blocks) into a pyte screen, answering nothing."""

    def __init__(self, argv: list[str], cols: int, rows: int, env: dict[str, str]) -> None:
        import pyte

        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows), **env}

        def controlling_tty() -> None:  # runs in the child after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                     start_new_session=True, preexec_fn=controlling_tty, close_fds=True)
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed the pty
                return
            if not data:
                return
            with self._lock:
                self._stream.feed(data)

    def text(self) -> str:
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def send(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def wait_for(self, predicate, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if predicate(self.text()):
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        try:
            os.close(self._master)
        except OSError:
            pass
        self._reader.join(timeout=2)


# ---- CPU time of a process tree -------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime + stime + cutime + cstime in ticks) of a live process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    ppid = int(fields[1])
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime (stat fields 14-17)
    return ppid, ticks


def tree_cpu_s(root: int) -> float:
    """CPU seconds used so far by `root` and every live descendant (threads are in their
    process's figures; children already reaped are in their parent's cutime/cstime)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = _stat(int(entry))
            if s is not None:
                stats[int(entry)] = s
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children.get(pid, ()))
    return total / CLK_TCK


# ---- the tools ------------------------------------------------------------------------------


def _shows_gpus(text: str) -> bool:
    """All 8 GPUs are on screen: each row or card of all three draws its power limit (700 W)."""
    return text.count("700W") + text.count("700 W") >= 8


def _detail_cards(text: str) -> bool:
    """The detail view draws a card per GPU, each naming its GPU; the compact table does not
    repeat the name eight times."""
    return text.count(GPU_NAME) >= 8


def measure(tool: Tool, seconds: float) -> tuple[float, str, str | None]:
    """(CPU % of one core over `seconds` in the steady state, the last screen, a problem)."""
    cols, rows = tool.size
    term = Terminal(tool.argv, cols, rows, tool.env)
    problem = None
    try:
        if not term.wait_for(_shows_gpus, START_TIMEOUT_S):
            return float("nan"), term.text(), f"no GPUs on screen after {START_TIMEOUT_S:.0f} s (exit {term.proc.poll()})"
        if tool.name.startswith("gpuplan"):  # nvitop has one view per size; ours toggle with v
            time.sleep(1.0)
            if (tool.view == "detail") != _detail_cards(term.text()):
                term.send("v")  # the Monitor's compact/detail toggle (MonitorPane binding)
                want = _detail_cards if tool.view == "detail" else (lambda t: not _detail_cards(t))
                if not term.wait_for(want, 10.0):
                    problem = f"the {tool.view} view did not show after pressing v"
        time.sleep(WARMUP_S)
        wall0, cpu0 = time.monotonic(), tree_cpu_s(term.proc.pid)
        time.sleep(seconds)
        wall, cpu = time.monotonic() - wall0, tree_cpu_s(term.proc.pid) - cpu0
        screen = term.text()
        if term.proc.poll() is not None:
            problem = f"exited with {term.proc.returncode} during the measurement"
        elif "Traceback" in screen:  # e.g. a thread of the tool died and printed over its screen
            problem = "a traceback on the screen"
        return cpu / wall * 100.0, screen, problem
    finally:
        term.close()


def tools(lib_dir: Path, home: Path) -> list[Tool]:
    bin_dir = Path(sys.executable).parent
    pids = f"{os.getpid()},{os.getppid()}"  # long-lived: psutil and /proc find their owner and command
    nvml_env = {"LD_LIBRARY_PATH": f"{lib_dir}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":"),
                "FAKE_NVML_PIDS": pids}
    gpuplan_env = {"GPUPLAN_HOME": str(home), "HF_HOME": str(home / "hf")}
    nvitop = shutil.which("nvitop", path=str(bin_dir)) or shutil.which("nvitop")
    gpuplan = shutil.which("gpuplan", path=str(bin_dir)) or "gpuplan"
    out = []
    for view in SIZES:
        out.append(Tool("nvitop", view, [nvitop, "--interval", "1"], dict(nvml_env)))
        # nvitop's auto mode picks its compact rows at both sizes (8 GPUs and their processes do
        # not fit in its full view): its full view too, as a user who asks for it gets it
        out.append(Tool("nvitop-full", view, [nvitop, "--monitor", "full", "--interval", "1"], dict(nvml_env)))
        out.append(Tool("gpuplan", view, [gpuplan, "watch", "--interval", "1"], {**nvml_env, **gpuplan_env}))
        out.append(Tool("gpuplan-simulated", view, [gpuplan, "watch", "--simulate", "8", "--interval", "1"],
                        {**gpuplan_env}))
    return out


def missing() -> str | None:
    """Why the bench cannot run here, or None."""
    from bench.fake_nvml.build import compiler

    if compiler() is None:
        return "gcc not found: the fake libnvidia-ml.so.1 cannot be built"
    for module, extra in (("nvitop", "nvitop==1.7.2"), ("pyte", "pyte")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} not installed (pip install -e '.[bench]' installs {extra})"
    return None


def peer_monitor_cpu(seconds: float = 20.0, rounds: int = 3, only: set[str] | None = None) -> dict:
    from bench.fake_nvml.build import build

    why = missing()
    if why is not None:
        return {"peer_monitor_skipped": why}
    lib_dir = build()
    home = Path(tempfile.mkdtemp(prefix="gpuplan-peer-bench-"))
    runs = [t for t in tools(lib_dir, home) if only is None or t.name in only]
    cpu: dict[str, list[float]] = {f"{t.name}/{t.view}": [] for t in runs}
    screens: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    load0 = os.getloadavg()[0]
    for r in range(rounds):
        for tool in runs if r % 2 == 0 else runs[::-1]:
            key = f"{tool.name}/{tool.view}"
            pct, screen, problem = measure(tool, seconds)
            print(f"round {r + 1}: {key:28s} {pct:6.2f} % {problem or ''}", file=sys.stderr, flush=True)
            cpu[key].append(pct)
            screens[key] = screen
            if problem:
                problems.setdefault(key, []).append(f"round {r + 1}: {problem}")
    figures: dict = {}
    for key, values in cpu.items():
        ok = sorted(v for v in values if v == v)  # not NaN
        figures[key] = {
            "median": round(statistics.median(ok), 2) if ok else None,
            "worst": round(ok[-1], 2) if ok else None,
            "spread": round(ok[-1] - ok[0], 2) if ok else None,
            "runs": [round(v, 2) for v in values],
        }
    for view in SIZES:
        for peer_name in ("nvitop", "nvitop-full"):
            peer = figures.get(f"{peer_name}/{view}", {}).get("median")
            if peer is None:
                continue
            for name in ("gpuplan", "gpuplan-simulated"):
                ours = figures.get(f"{name}/{view}", {}).get("median")
                if ours is not None:
                    figures[f"ratio_{name}_vs_{peer_name}/{view}"] = round(ours / peer, 2)
    return {
        "peer_monitor_cpu_percent": figures,
        "seconds": seconds,
        "rounds": rounds,
        "warmup_s": WARMUP_S,
        "sizes": {view: f"{c}x{r}" for view, (c, r) in SIZES.items()},
        "load_1m_start": round(load0, 2),
        "load_1m_end": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "problems": problems,
        "screens": screens,
    }


if __name__ == "__main__":
    # a SIGTERM unwinds (closing the tool under test: each runs in a session of its own)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
    print(json.dumps(peer_monitor_cpu(seconds, rounds, only), indent=2))
