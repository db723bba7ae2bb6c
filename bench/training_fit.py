"""Fit the training calibration (engine/calibration.py, Training section) on the training split.

Few physical factors, fitted by coordinate descent on the mean absolute log error over the
training split only (ids not divisible by 3); the held-out split is reported, never used.
`python -m bench.training_fit` prints the fitted values to paste beside their points.
"""

from __future__ import annotations

import math

from bench.training_bench import results
from engine import calibration as cal

MEMORY = [
    ("TRAIN_LOGIT_BYTES", "hf", 6.0, 16.0),
    ("TRAIN_LOGIT_BYTES", "torchtune", 6.0, 12.0),
    ("TRAIN_LOGIT_BYTES_COMPILED", None, 2.0, 10.0),
    ("TRAIN_COMPILE_ACTIVATION_SHARE", None, 0.3, 1.0),
    ("TRAIN_FP4_ACTIVATION_SHARE", None, 0.2, 1.0),
    ("TRAIN_FRAMEWORK_GIB", "hf", 0.0, 4.0),
    ("TRAIN_FRAGMENTATION", None, 0.0, 0.3),
]
SPEED = [
    ("TRAIN_HFU", ("ampere", "bf16"), 0.2, 0.8),
    ("TRAIN_HFU", ("hopper", "bf16"), 0.2, 0.8),
    ("TRAIN_HFU", ("hopper", "fp8"), 0.2, 1.2),
    ("TRAIN_HFU", ("blackwell", "bf16"), 0.2, 0.8),
    ("TRAIN_HFU", ("blackwell", "fp8"), 0.2, 1.2),
    ("TRAIN_HFU", ("blackwell", "fp4"), 0.2, 1.6),
    ("TRAIN_MOE_EFFICIENCY", None, 0.2, 1.0),
    ("TRAIN_EAGER_LAYER_S", None, 0.0005, 0.02),
    ("TRAIN_ZERO3_LAYER_S", None, 0.0, 0.02),
    ("TRAIN_DEQUANT_S_PER_PARAM", "gptq", 0.0, 5e-11),
    ("TRAIN_DEQUANT_S_PER_PARAM", "nf4", 0.0, 5e-11),
    ("TRAIN_TP_EXPOSED", None, 0.0, 1.0),
    ("TRAIN_A2A_EXPOSED", None, 0.0, 1.0),
]


def _get(name, key):
    v = getattr(cal, name)
    if key is None:
        return v
    if isinstance(key, tuple):
        return v[key[0]][key[1]]
    return v[key]


def _set(name, key, value):
    if key is None:
        setattr(cal, name, value)
    elif isinstance(key, tuple):
        getattr(cal, name)[key[0]][key[1]] = value
    else:
        getattr(cal, name)[key] = value


def loss(kind: str) -> float:
    rs = [r for r in results("train") if r.kind == kind and r.predicted > 0]
    return sum(abs(math.log(r.predicted / r.measured)) for r in rs) / len(rs)


def fit(kind: str, params, rounds: int = 3, steps: int = 12) -> None:
    for _ in range(rounds):
        for name, key, lo, hi in params:
            best_v, best_l = _get(name, key), loss(kind)
            for i in range(steps + 1):
                v = lo + (hi - lo) * i / steps
                _set(name, key, v)
                l = loss(kind)
                if l < best_l - 1e-9:
                    best_v, best_l = v, l
            # refine around the best
            span = (hi - lo) / steps
            for i in range(-5, 6):
                v = min(hi, max(lo, best_v + span * i / 5))
                _set(name, key, v)
                l = loss(kind)
                if l < best_l - 1e-9:
                    best_v, best_l = v, l
            _set(name, key, best_v)


def main() -> None:
    for kind, params in (("memory", MEMORY), ("speed", SPEED)):
        before = loss(kind)
        fit(kind, params)
        print(f"{kind}: mean |log error| on the training split {before:.3f} -> {loss(kind):.3f}")
        for name, key, _, _ in params:
            print(f"  {name}[{key}] = {_get(name, key):.4g}")


if __name__ == "__main__":
    main()
