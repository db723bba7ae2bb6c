"""Fitted efficiency constants, each beside the published points it was fitted on.

One place for every number the speed models take from measurements rather than from a datasheet
or a paper. Each constant means something physical (an achieved fraction of a datasheet peak, a
per-step overhead), is fitted on a named subset of `shared/reference/` and is checked on the rest
(see `bench/` and the calibration tests). Never one constant per data point.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Serving (engine/inference.py): achieved bandwidth/FLOPs fractions per GPU generation, precision
# and engine; per-step overheads. Fitted on serving_measurements.toml and measurements.toml.
# ---------------------------------------------------------------------------------------------


















# ---------------------------------------------------------------------------------------------
# Training (engine/training.py): allocator fragmentation, framework overhead, MFU per GPU
# generation, precision and parallel layout. Fitted on training_measurements.toml and the
# torchtune / Megatron points of measurements.toml.
# ---------------------------------------------------------------------------------------------
