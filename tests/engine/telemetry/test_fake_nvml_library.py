"""Our real NVML backend, through the real pynvml, against bench/fake_nvml's C library (a fake
libnvidia-ml.so.1 with 8 H100): the ctypes layer the pynvml-level stubs of the other tests never
reach (struct layouts, the two-call process lists, versioned structs). pynvml loads the library
once per process, so each check runs in a subprocess with LD_LIBRARY_PATH pointing at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fake_nvml.build import build, compiler

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(compiler() is None, reason="gcc not found: the fake libnvidia-ml.so.1 cannot be built")

SAMPLE = """
import json, os
from engine.telemetry.nvml import NvmlBackend

b = NvmlBackend()
b.sample()
s = b.sample()
b.close()
print(json.dumps({
    "error": s.error, "backend": s.backend, "simulated": s.simulated,
    "driver": s.driver_version, "cuda": s.cuda_version,
    "gpus": [{"index": g.index, "name": g.name, "uuid": g.uuid, "bus_id": g.bus_id, "state": g.state,
              "total": g.memory_total_bytes, "used": g.memory_used_bytes, "util": g.gpu_util_pct,
              "power_w": g.power_w, "temp": g.temperature_c,
              "processes": [(p.pid, p.used_memory_bytes, p.command) for p in g.processes or ()]}
             for g in s.gpus],
    "pid": os.getpid(),
}))
"""


@pytest.fixture(scope="module")
def lib_dir() -> Path:
    return build()


def _run(lib_dir: Path, code: str, **env: str) -> dict:
    full_env = {**os.environ, "LD_LIBRARY_PATH": str(lib_dir), **env}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=full_env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pynvml_loads_the_fake_library(lib_dir: Path):
    code = ("import json, os, pynvml; pynvml.nvmlInit(); "
            "maps = open(f'/proc/{os.getpid()}/maps').read(); "
            "print(json.dumps([pynvml.nvmlDeviceGetCount(), str(os.environ['LD_LIBRARY_PATH']) in maps]))")
    assert _run(lib_dir, code) == [8, True]


def test_eight_h100_with_memory_and_processes_come_through_the_backend(lib_dir: Path):
    out = _run(lib_dir, SAMPLE, FAKE_NVML_PIDS=str(os.getpid()))
    assert out["error"] is None and out["backend"] == "nvml" and out["simulated"] is False
    assert out["driver"] == "570.133.20" and out["cuda"]
    gpus = out["gpus"]
    assert [g["index"] for g in gpus] == list(range(8))
    assert all(g["name"] == "NVIDIA H100 80GB HBM3" and g["state"] == "ok" for g in gpus)
    assert len({g["uuid"] for g in gpus}) == 8 and len({g["bus_id"] for g in gpus}) == 8
    assert all(g["total"] == 81559 * 2**20 and 0 < g["used"] < g["total"] for g in gpus)
    assert all(0 <= g["util"] <= 100 and 0 < g["power_w"] <= 700 and 20 < g["temp"] < 90 for g in gpus)
    # every GPU runs our test process (the one PID given); the backend found its command line
    for g in gpus:
        [(pid, used, command)] = g["processes"]
        assert pid == os.getpid() and used > 2**30
        assert command and "python" in command.lower()


def test_without_pids_the_loading_process_is_the_gpu_process(lib_dir: Path):
    out = _run(lib_dir, SAMPLE, FAKE_NVML_PIDS="")
    assert out["pid"] in {pid for g in out["gpus"] for pid, _, _ in g["processes"]}
