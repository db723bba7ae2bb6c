"""Accuracy of the training planner against every published run in ../shared/reference.

Memory: every point with a per-GPU peak (GiB), compared with what that tool reports: PyTorch's
peak reserved for torchtitan and torchtune's "reserved" rows, peak allocated for torchtune's
README ladder ("active"), the whole GPU for Qwen's unspecified figures, model states +
activations for Korthikanti's 22B figure. Speed: every point with tokens/s per GPU, model TFLOP/s
per GPU or a step time. Errors are |predicted - measured| / measured; the tables give the median
per source and method, on the training split and the held-out split (ids divisible by 3, never
seen by bench/training_fit.py), and name the worst points with the reason.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass

from bench.training_points import Case, cases
from engine.hardware import GIB
from engine.model import count_params
from engine.training_memory import layout, memory_per_gpu
from engine.training_speed import estimate_speed

NVL72 = {"gb200", "gb300"}  # one NVLink domain of 72 GPUs


def gpus_per_node(case: Case) -> int:
    return 72 if case.gpu is not None and case.gpu.id in NVL72 else 8


@dataclass(frozen=True)
class Result:
    case: Case
    kind: str  # "memory" or "speed"
    predicted: float
    measured: float

    @property
    def error(self) -> float:
        return (self.predicted - self.measured) / self.measured


def predict_memory(case: Case) -> float | None:
    if case.skip or case.memory_gib is None or case.spec is None:
        return None
    m = memory_per_gpu(case.spec, count_params(case.spec), case.inputs, case.gpus)
    value = {"reserved": m.reserved, "allocated": m.allocated, "unspecified": m.total,
             "states+activations": m.states + m.activations}[case.memory_kind]
    return value / GIB


def measured_speed(case: Case, flops_per_token: float, tokens_per_step: float) -> float | None:
    """Tokens/s per GPU as published, or derived from model TFLOP/s or a step time."""
    if case.tokens_per_s_per_gpu:
        return float(case.tokens_per_s_per_gpu)
    if case.model_tflops_per_gpu:
        return case.model_tflops_per_gpu * 1e12 / flops_per_token
    if case.step_time_s:
        return tokens_per_step / case.step_time_s / case.gpus
    return None


def predict_speed(case: Case) -> tuple[float, float] | None:
    """(predicted, measured) tokens/s per GPU."""
    if case.skip or case.spec is None:
        return None
    params = count_params(case.spec)
    s = estimate_speed(case.spec, params, case.gpu, case.inputs, layout(case.inputs, case.gpus), gpus_per_node(case))
    measured = measured_speed(case, s.model_flops_per_token, s.tokens_per_step)
    if measured is None:
        return None
    return s.tokens_per_s_per_gpu, measured


def results(split: str = "all") -> list[Result]:
    out = []
    for c in cases():
        if split == "train" and c.held_out or split == "held-out" and not c.held_out:
            continue
        mem = predict_memory(c)
        if mem is not None:
            out.append(Result(c, "memory", mem, c.memory_gib))
        sp = predict_speed(c)
        if sp is not None:
            out.append(Result(c, "speed", *sp))
    return out


def _median_pct(rs: list[Result]) -> float | None:
    return round(100 * statistics.median(abs(r.error) for r in rs), 1) if rs else None


_HINTS = {
    "p271": "torchtune's reserved memory keeps the bf16 staging of NF4 quantisation (9.13 GiB already at init)",
    "p122": "MoE at micro-batch 1 (128 experts): small grouped GEMMs and all-to-all latency; one MoE factor "
            "cannot tell it from the same model at micro-batch 4-8 (p092-p095)",
    "p128": "MoE at micro-batch 2 on H100 with PP2 x VP24: as p122",
    "p029": "float8 rowwise linears with TP 8 on an 8B model ran slower than bf16; the model gives fp8 its speedup",
    "p030": "as p029 (async TP)",
    "p048": "compiled Qwen3-8B without recompute keeps less than the fitted torch.compile share",
    "p049": "as p048",
    "p177": "Qwen's Q-LoRA rows (fp16 + DeepSpeed ZeRO-2) grow 1.3 MB per token against its LoRA rows' 1.9; "
            "the model has one logits cost for Qwen's code",
    "ft_torchtune_llama32_3b_Compile": "torchtune's compiled step kept more than torchtitan's: one torch.compile "
                                       "share for both",
}


def _why(r: Result) -> str:
    c = r.case
    if c.id in _HINTS:
        return _HINTS[c.id]
    if c.source == "qwen" and c.gpus == 4 and c.method == "lora" and r.kind == "speed":
        return "Qwen's 4-GPU DeepSpeed LoRA rows run ~1.7x slower per GPU than its single-GPU rows at equal work"
    t = c.inputs
    bits = [f"{c.method}", f"{c.gpus} GPU", f"tp{t.tensor_parallel} pp{t.pipeline_parallel} ep{t.expert_parallel}",
            f"seq {t.sequence_length}", f"mb {t.micro_batch_size}", t.precision, t.gradient_checkpointing]
    if t.compile:
        bits.append("compiled")
    return ", ".join(bits) + (f"; {c.note}" if c.note else "")


def figures() -> dict:
    rs = results()
    mem = [r for r in rs if r.kind == "memory"]
    spd = [r for r in rs if r.kind == "speed"]
    return {
        "training_memory_median_abs_error_pct": _median_pct(mem),
        "training_speed_median_abs_error_pct": _median_pct(spd),
        "training_memory_points": len(mem),
        "training_speed_points": len(spd),
        "training_memory_held_out_median_abs_error_pct": _median_pct([r for r in mem if r.case.held_out]),
        "training_speed_held_out_median_abs_error_pct": _median_pct([r for r in spd if r.case.held_out]),
    }


def table(out=sys.stderr) -> None:
    rs = results()
    skipped = [c for c in cases() if c.skip]
    for kind, target in (("memory", 15), ("speed", 20)):
        sel = [r for r in rs if r.kind == kind]
        print(f"\ntraining {kind}: median |error| {_median_pct(sel)}% over {len(sel)} points "
              f"(target {target}%); train split {_median_pct([r for r in sel if not r.case.held_out])}%, "
              f"held-out {_median_pct([r for r in sel if r.case.held_out])}%", file=out)
        groups: dict[tuple[str, str], list[Result]] = {}
        for r in sel:
            groups.setdefault((r.case.source, r.case.method), []).append(r)
        print(f"  {'source':<18}{'method':<7}{'n':>4}{'median':>8}{'p90':>7}{'max':>7}", file=out)
        for (src, method), g in sorted(groups.items()):
            errs = sorted(abs(r.error) for r in g)
            p90 = errs[min(len(errs) - 1, int(0.9 * len(errs)))]
            print(f"  {src:<18}{method:<7}{len(g):>4}{100 * statistics.median(errs):>7.1f}%{100 * p90:>6.0f}%"
                  f"{100 * errs[-1]:>6.0f}%", file=out)
        print("  worst:", file=out)
        for r in sorted(sel, key=lambda r: -abs(r.error))[:5]:
            print(f"    {r.case.id} {r.case.model} ({r.case.source}): predicted {r.predicted:,.1f}, measured "
                  f"{r.measured:,.1f} ({100 * r.error:+.0f}%): {_why(r)}", file=out)
    if skipped:
        reasons: dict[str, int] = {}
        for c in skipped:
            reasons[c.skip] = reasons.get(c.skip, 0) + 1
        print("\nnot compared: " + "; ".join(f"{n} points: {why}" for why, n in reasons.items()), file=out)


def training_accuracy() -> dict:
    """For `python -m bench`: the figures; the tables go to stderr."""
    table()
    return figures()


if __name__ == "__main__":
    table(sys.stdout)
    print(figures())
