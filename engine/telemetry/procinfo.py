"""What the host knows of a GPU process and of itself, through psutil (as nvitop does).

`ProcessInspector.info(pid)` gives the user, full command line, %CPU, %MEM (of host RAM), resident
memory and start time of a PID, or None when this PID namespace cannot see it: inside a container
NVML reports host PIDs, which are absent here (or, rarely, name an unrelated process here; nothing
can tell those apart, so the command is shown as the host reports it). `host_stats()` is CPU, RAM,
swap and load for the host panel. Read-only: nothing here sends a signal.

psutil is imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from engine.telemetry.samples import HostStats


@dataclass(frozen=True, slots=True)
class ProcInfo:
    user: str | None
    command: str | None
    cpu_pct: float | None
    mem_pct: float | None
    rss_bytes: int | None
    started_at: float | None


class ProcessInspector:
    """Keeps one psutil.Process per PID so that %CPU is measured between two calls (psutil's
    cpu_percent(interval=None) compares with the previous call on the same object)."""

    def __init__(self) -> None:
        self._psutil: Any = None
        self._procs: dict[int, Any] = {}
        self._host_primed = False

    def _ps(self) -> Any:
        if self._psutil is None:
            import psutil

            self._psutil = psutil
        return self._psutil

    def info(self, pid: int) -> ProcInfo | None:
        ps = self._ps()
        proc = self._procs.get(pid)
        try:
            if proc is None or not proc.is_running():  # is_running also catches a reused PID
                proc = self._procs[pid] = ps.Process(pid)
            with proc.oneshot():
                cmdline = proc.cmdline()
                command = " ".join(cmdline) if cmdline else proc.name()
                try:
                    user = proc.username()
                except (KeyError, ps.AccessDenied):
                    user = None
                rss = proc.memory_info().rss
                return ProcInfo(
                    user=user,
                    command=command or None,
                    cpu_pct=proc.cpu_percent(interval=None),
                    mem_pct=proc.memory_percent(),
                    rss_bytes=int(rss),
                    started_at=proc.create_time(),
                )
        except (ps.NoSuchProcess, ps.ZombieProcess):
            self._procs.pop(pid, None)
            return None
        except ps.AccessDenied:
            return ProcInfo(None, None, None, None, None, None)
        finally:
            self._prune()

    def _prune(self, keep: int = 512) -> None:
        if len(self._procs) > keep:  # processes come and go: forget the oldest
            for pid in list(self._procs)[: len(self._procs) - keep]:
                del self._procs[pid]

    def host_stats(self) -> HostStats:
        ps = self._ps()
        cpu = ps.cpu_percent(interval=None)
        if not self._host_primed:  # the first call has nothing to compare with
            self._host_primed = True
            cpu = None
        vm = ps.virtual_memory()
        sw = ps.swap_memory()
        try:
            load = os.getloadavg()
        except OSError:
            load = (None, None, None)
        return HostStats(
            cpu_pct=cpu,
            cpu_count=ps.cpu_count(),
            mem_total_bytes=int(vm.total),
            mem_used_bytes=int(vm.total - vm.available),  # what nvitop and htop call used
            swap_total_bytes=int(sw.total),
            swap_used_bytes=int(sw.used),
            load_1=load[0],
            load_5=load[1],
            load_15=load[2],
        )
