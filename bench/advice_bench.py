"""How long engine/advice.py takes to say what would fit (issue 7 item 11, target < 5 ms): plans
that do not fit, from the bundled catalog, advised repeatedly; median, p90 and worst per case."""

from __future__ import annotations

import os
import statistics
import time

CASES = {  # (model, GPU, TP, max_model_len); each does not fit as given
    "70b_bf16_1xh100_8k": ("llama-3.1-70b", "h100-sxm-80gb", 1, 8192),
    "70b_bf16_1xh100_128k": ("llama-3.1-70b", "h100-sxm-80gb", 1, None),
    "405b_bf16_8xh100": ("llama-3.1-405b", "h100-sxm-80gb", 8, None),
    "8b_bf16_rtx4090_128k": ("llama-3.1-8b", "rtx-4090", 1, 131072),
}


def advice_figures(runs: int = 60) -> dict[str, float]:
    from catalogs.loader import load_catalog
    from engine.advice import advise
    from engine.inputs import PlanInputs, ServingInputs
    from sessions.resolve import catalog_gpus

    catalog = load_catalog()
    gpus = catalog_gpus(catalog)
    out: dict[str, float] = {}
    worst_median = 0.0
    for name, (model, gpu, tp, context) in CASES.items():
        inputs = PlanInputs(model=catalog.model(model), gpu=catalog.gpu(gpu), tensor_parallel=tp,
                            serving=ServingInputs(max_model_len=context), gpu_choices=gpus)
        found = advise(inputs)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            advise(inputs)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        out[f"advice_ms_{name}_median"] = round(median, 3)
        out[f"advice_ms_{name}_max"] = round(times[-1], 3)
        out[f"advice_{name}_suggestions"] = len(found)
    out["advice_ms_median"] = round(worst_median, 3)  # the slowest case's median
    out["advice_load_avg"] = round(os.getloadavg()[0], 2)  # a worst far above the median is the host's scheduling
    return out


if __name__ == "__main__":
    print(advice_figures())
