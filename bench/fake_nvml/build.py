"""Compile fake_nvml.c into a folder as `libnvidia-ml.so.1` and return that folder.

pynvml loads the library with `ctypes.CDLL("libnvidia-ml.so.1")` (a bare soname, so dlopen
searches LD_LIBRARY_PATH first): a process started with LD_LIBRARY_PATH=<folder> gets the fake.
The folder is named after a hash of the source, so a second build reuses the first."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_nvml.c")
SONAME = "libnvidia-ml.so.1"


class BuildError(RuntimeError):
    pass


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc"))


def build(dest: Path | None = None) -> Path:
    """The folder holding the compiled fake `libnvidia-ml.so.1` (BuildError without gcc)."""
    cc = compiler()
    if cc is None:
        raise BuildError("gcc not found: the fake libnvidia-ml.so.1 cannot be built")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    folder = dest or Path(tempfile.gettempdir()) / f"gpuplan-fake-nvml-{digest}"
    lib = folder / SONAME
    if lib.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{SONAME}.{os.getpid()}"
    cmd = [cc, "-shared", "-fPIC", "-O2", "-Wall", "-fvisibility=hidden", "-o", str(tmp), str(SOURCE), "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    os.replace(tmp, lib)  # atomic: a parallel build never sees half a library
    return folder


if __name__ == "__main__":
    print(build())
