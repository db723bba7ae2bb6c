"""Fit the serving model's physical factors on the training two thirds of the published points
and print them for engine/calibration.py (Serving section); the held-out third checks them.

    python -m bench.serving_fit        # needs scipy (a bench/test-only dependency)

Factors: achieved HBM bandwidth fraction per GPU generation; achieved tensor-core fraction per
generation and precision; fixed cost per decoder layer per engine and vendor; per-step and
per-request (TTFT) overhead and the prefill-wave share per engine. Residuals are log ratios of
output tokens/s per GPU, TPOT and (half weight) TTFT, with a soft-L1 loss so a few odd runs do not
steer the fit. Speculative points are left out (their own table checks them).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from bench.serving_accuracy import MTP, OFFLINE_MAX_SEQS, _catalog, running_cap, scheduler_of
from bench.serving_data import all_cases
from engine import calibration as cal
from engine.calibration import ServingEfficiency
from engine.serving import closed_loop
from engine.step_model import apply_efficiency, gpu_generation, raw_profile

GENERATIONS = ("hopper", "blackwell", "cdna3", "cdna4", "ampere")
FLOPS_KEYS = (("hopper", "bf16"), ("hopper", "fp8"), ("hopper", "w4a16"), ("blackwell", "bf16"), ("blackwell", "fp8"),
              ("blackwell", "fp4"), ("cdna3", "w4a16"), ("cdna3", "fp8"), ("cdna4", "bf16"), ("cdna4", "fp8"),
              ("cdna4", "fp4"))
LAYER_KEYS = (("vllm", "nvidia"), ("vllm", "amd"), ("sglang", "nvidia"), ("sglang", "amd"), ("trtllm", "nvidia"),
              ("atom", "amd"))
ENGINES = ("vllm", "sglang", "trtllm", "atom")


@dataclass(frozen=True)
class Param:
    name: str
    lo: float
    hi: float
    start: float


def parameters() -> list[Param]:
    ps = [Param(f"bw:{g}", 0.3, 0.90, cal.SERVING_BANDWIDTH_FRACTION[g]) for g in GENERATIONS]
    ps += [Param(f"fl:{g}:{p}", 0.15, 0.80, cal.SERVING_FLOPS_FRACTION.get((g, p), 0.3)) for g, p in FLOPS_KEYS]
    ps += [Param("moe:flops", 0.2, 1.0, cal.SERVING_MOE_FLOPS), Param("moe:bandwidth", 0.4, 1.0, cal.SERVING_MOE_BANDWIDTH)]
    ps += [Param(f"layer:{e}:{v}", 0.0, 400.0, cal.SERVING_LAYER_OVERHEAD_US[(e, v)]) for e, v in LAYER_KEYS]
    ps += [Param(f"step:{e}", 0.0, 10.0, cal.SERVING_STEP_OVERHEAD_MS[e]) for e in ENGINES]
    ps += [Param(f"ttft:{e}", 0.0, 500.0, cal.SERVING_TTFT_OVERHEAD_MS[e]) for e in ENGINES]
    ps += [Param(f"wave:{e}", 0.0, 1.5, cal.SERVING_TTFT_WAVE[e]) for e in ENGINES]
    return ps


def efficiency_for(values: dict[str, float], gen: str, engine: str, vendor: str) -> ServingEfficiency:
    def fl(p: str) -> float:
        return values.get(f"fl:{gen}:{p}", cal.SERVING_FLOPS_FRACTION.get((gen, p), cal.SERVING_FLOPS_FRACTION_DEFAULT))

    return ServingEfficiency(
        bandwidth=values.get(f"bw:{gen}", 0.65),
        flops_bf16=fl("bf16"), flops_fp8=fl("fp8"), flops_fp4=fl("fp4"), flops_w4a16=fl("w4a16"),
        flops_w8a16=fl("w8a16"), moe_flops=values.get("moe:flops", 1.0), moe_bandwidth=values.get("moe:bandwidth", 1.0),
        layer_overhead_s=values.get(f"layer:{engine}:{vendor}", 60.0) * 1e-6,
        step_overhead_s=values.get(f"step:{engine}", 1.0) * 1e-3,
        ttft_overhead_s=values.get(f"ttft:{engine}", 30.0) * 1e-3,
        ttft_wave=values.get(f"wave:{engine}", 0.5),
    )


def prepared(cases):
    cat = _catalog()
    out = []
    for c in cases:
        gpu = cat.gpu(c.gpu)
        raw = raw_profile(cat.model(c.model), gpu, c.weights, c.kv_cache, c.tp, c.ep, c.engine, c.dp_attention)
        cap = min(running_cap(c), OFFLINE_MAX_SEQS)
        out.append((c, raw, (gpu_generation(gpu), c.engine, gpu.vendor), cap))
    return out


DENSE_WEIGHT = 3.0  # the few dense-model points (measurements.toml) anchor the dense GEMM factors


def residuals(x, params, prep, ttft_weight: float = 0.5):
    values = {p.name: v for p, v in zip(params, x)}
    effs: dict = {}
    res = []
    for c, raw, key, cap in prep:
        eff = effs.get(key)
        if eff is None:
            eff = effs[key] = efficiency_for(values, *key)
        pt = closed_loop(apply_efficiency(raw, eff), c.concurrency or cap, c.prompt_tokens, c.output_tokens,
                         c.max_num_batched_tokens, cap, MTP if c.speculative else None, scheduler=scheduler_of(c))
        w = DENSE_WEIGHT if c.source != "serving_measurements" else 1.0
        res.append(w * math.log(pt.output_tokens_per_s_per_gpu / c.output_tps_per_gpu) if c.output_tps_per_gpu else 0.0)
        res.append(w * math.log(pt.tpot_ms / c.tpot_ms) if c.tpot_ms else 0.0)
        res.append(ttft_weight * math.log(pt.ttft_ms / c.ttft_ms) if c.ttft_ms else 0.0)
    return res


def main(argv: list[str] | None = None) -> int:
    """`--only ttft,wave` refits only the parameters whose names start with those prefixes (the
    rest stay at their calibrated values)."""
    from scipy.optimize import least_squares

    argv = sys.argv[1:] if argv is None else argv
    only = argv[argv.index("--only") + 1].split(",") if "--only" in argv else None
    train = [c for c in all_cases() if not c.speculative and not c.held_out]
    every = parameters()
    params = [p for p in every if only is None or any(p.name.startswith(o + ":") for o in only)]
    fixed = {p.name: p.start for p in every if p not in params}
    prep = prepared(train)
    x0 = [min(max(p.start, p.lo), p.hi) for p in params]

    def res(x, params, prep):
        return residuals(list(x) + list(fixed.values()), params + [p for p in every if p.name in fixed], prep)

    fit = least_squares(res, x0, args=(params, prep), bounds=([p.lo for p in params], [p.hi for p in params]),
                        loss="soft_l1", f_scale=0.15, diff_step=1e-2, max_nfev=30, verbose=1)
    print(f"# fitted on {len(train)} training points; cost {fit.cost:.2f}; status {fit.status}")
    for p, v in zip(params, fit.x):
        print(f"{p.name:28} {v:10.4f}   (start {p.start})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
