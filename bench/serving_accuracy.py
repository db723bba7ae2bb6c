"""Accuracy of the serving model against every published point: median absolute error of output
tokens/s per GPU, of TPOT and of TTFT, overall, on the held-out third, and per
GPU x engine x model group (worst groups named), with the speculative points in their own table.

    python -m bench.serving_accuracy          # the tables
    python -m bench                           # the figures serving_median_abs_error_pct, ...
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from functools import cache

from bench.serving_data import Case, all_cases
from engine.calibration import ServingEfficiency
from engine.inference import running_cap as inference_running_cap
from engine.inputs import ServingInputs
from engine.memory import inference_memory
from engine.serving import SchedulerPolicy, Speculation, closed_loop
from engine.step_model import replica_profile

OFFLINE_MAX_SEQS = 2048  # trtllm-bench's max batch size for the perf-overview runs
# InferenceMAX's MTP runs: SGLang/ATOM/TensorRT-LLM with DeepSeek's one MTP layer, chained for
# three draft tokens (speculative-num-steps 3); acceptance as the engines report it for R1 (~0.7).
MTP = Speculation(method="mtp", tokens=3, acceptance=0.7)


@cache
def _catalog():
    from catalogs.loader import load_catalog

    return load_catalog(user_dir=None, hf_cache=False)


@cache
def running_cap(case: Case) -> int:
    """Sequences one replica admits: the KV pool at the case's lengths (per DP-attention rank)."""
    cat = _catalog()
    spec, gpu = cat.model(case.model), cat.gpu(case.gpu)
    engine = case.engine if case.engine in ("vllm", "sglang", "trtllm") else "vllm"
    serving = ServingInputs(engine=engine, memory_fraction=case.memory_fraction,
                            max_num_batched_tokens=8192, max_num_seqs=OFFLINE_MAX_SEQS,
                            prompt_tokens=int(case.prompt_tokens), output_tokens=int(case.output_tokens))
    mem = inference_memory(spec, gpu, serving, weights=case.weights, kv_cache=case.kv_cache,
                           tensor_parallel=case.tp, pipeline_parallel=1,
                           max_model_len=int(case.prompt_tokens / 0.9 + case.output_tokens / 0.9) + 256)
    if not mem.fits:  # the run happened, so the engine's real settings left room: no cap
        return OFFLINE_MAX_SEQS
    return max(1, inference_running_cap(mem, serving) * (case.tp if case.dp_attention else 1))


def predict(case: Case, efficiency: ServingEfficiency | None = None):
    cat = _catalog()
    p = replica_profile(cat.model(case.model), cat.gpu(case.gpu), case.weights, case.kv_cache, case.tp, case.ep,
                        case.engine, case.dp_attention, efficiency)
    cap = min(running_cap(case), OFFLINE_MAX_SEQS)
    batch = case.concurrency or cap
    return closed_loop(p, batch, case.prompt_tokens, case.output_tokens, case.max_num_batched_tokens, cap,
                       MTP if case.speculative else None, scheduler=scheduler_of(case))


def scheduler_of(case: Case) -> SchedulerPolicy:
    return SchedulerPolicy(case.poll_steps, case.dp_balance_timeout_steps)


@dataclass(frozen=True, slots=True)
class Errors:
    throughput: list[float]
    tpot: list[float]
    ttft: list[float]


def errors_for(cases, efficiency: ServingEfficiency | None = None) -> dict[str, Errors]:
    """Signed relative errors (model / measured - 1) per group."""
    out: dict[str, Errors] = {}
    for case in cases:
        pt = predict(case, efficiency)
        e = out.setdefault(case.group, Errors([], [], []))
        if case.output_tps_per_gpu:
            e.throughput.append(pt.output_tokens_per_s_per_gpu / case.output_tps_per_gpu - 1)
        if case.tpot_ms:
            e.tpot.append(pt.tpot_ms / case.tpot_ms - 1)
        if case.ttft_ms:
            e.ttft.append(pt.ttft_ms / case.ttft_ms - 1)
    return out


def _mae(values: list[float]) -> float | None:
    return 100 * statistics.median(abs(v) for v in values) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(abs(v) for v in values)
    return 100 * s[min(len(s) - 1, int(0.9 * len(s)))]


def _bias(values: list[float]) -> float | None:
    return 100 * statistics.median(values) if values else None


def summary(groups: dict[str, Errors]) -> dict[str, float | None]:
    thr = [v for g in groups.values() for v in g.throughput]
    tpot = [v for g in groups.values() for v in g.tpot]
    ttft = [v for g in groups.values() for v in g.ttft]
    return {
        "points": len(thr),
        "throughput_mae_pct": _mae(thr), "throughput_p90_pct": _p90(thr),
        "tpot_mae_pct": _mae(tpot), "tpot_p90_pct": _p90(tpot),
        "ttft_mae_pct": _mae(ttft), "ttft_p90_pct": _p90(ttft),
    }


def _fmt(v: float | None) -> str:
    return "   -" if v is None else f"{v:5.1f}"


def figures() -> dict[str, float | None]:
    cases = [c for c in all_cases() if not c.speculative]
    s = summary(errors_for(cases))
    held = summary(errors_for([c for c in cases if c.held_out]))
    spec = summary(errors_for([c for c in all_cases() if c.speculative]))
    r = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {
        "serving_median_abs_error_pct": r(s["throughput_mae_pct"]),
        "serving_tpot_median_abs_error_pct": r(s["tpot_mae_pct"]),
        "serving_ttft_median_abs_error_pct": r(s["ttft_mae_pct"]),
        "serving_heldout_median_abs_error_pct": r(held["throughput_mae_pct"]),
        "serving_heldout_tpot_median_abs_error_pct": r(held["tpot_mae_pct"]),
        "serving_heldout_ttft_median_abs_error_pct": r(held["ttft_mae_pct"]),
        "serving_ttft_p90_abs_error_pct": r(s["ttft_p90_pct"]),
        "serving_speculative_median_abs_error_pct": r(spec["throughput_mae_pct"]),
        "serving_points": s["points"],
    }


def table(cases, title: str, out=sys.stdout) -> None:
    groups = errors_for(cases)
    s = summary(groups)
    print(f"\n{title}: {s['points']} points", file=out)
    print(f"  median |error| %: throughput {_fmt(s['throughput_mae_pct'])}  TPOT {_fmt(s['tpot_mae_pct'])}  "
          f"TTFT {_fmt(s['ttft_mae_pct'])}   (p90: {_fmt(s['throughput_p90_pct'])} {_fmt(s['tpot_p90_pct'])} "
          f"{_fmt(s['ttft_p90_pct'])})", file=out)
    print(f"  {'group (GPU x engine x model weights)':58} {'n':>4} {'thr':>6} {'bias':>6} {'TPOT':>6} {'bias':>6} "
          f"{'TTFT':>6} {'bias':>6}", file=out)
    rows = sorted(groups.items(), key=lambda kv: -(_mae(kv[1].throughput) or 0))
    for name, e in rows:
        print(f"  {name:58} {len(e.throughput):4d} {_fmt(_mae(e.throughput)):>6} {_fmt(_bias(e.throughput)):>6} "
              f"{_fmt(_mae(e.tpot)):>6} {_fmt(_bias(e.tpot)):>6} {_fmt(_mae(e.ttft)):>6} {_fmt(_bias(e.ttft)):>6}",
              file=out)


def main() -> int:
    cases = all_cases()
    plain = [c for c in cases if not c.speculative]
    table(plain, "All non-speculative points")
    table([c for c in plain if c.held_out], "Held-out third (not used by the fit)")
    table([c for c in cases if c.speculative], "Speculative (MTP) points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
