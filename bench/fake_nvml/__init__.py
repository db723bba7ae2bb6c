"""A fake libnvidia-ml.so.1 (8 H100 80GB HBM3 with moving metrics) for measuring GPU monitors
on a machine without NVIDIA GPUs: `build.build()` compiles it and returns the folder to put on
LD_LIBRARY_PATH."""
