"""Configuration search: the cheapest fleet that meets the SLA, across the whole GPU catalog.

For one model and one workload it walks every GPU x tensor parallel (1/2/4/8, and pipeline
parallel where one node cannot hold the model) x weight format x KV-cache format x serving
engine; for each: does it fit, does it meet the SLA (TTFT, ITL) at the batch the speed model
picks, how many replicas and GPUs the recommended scenario needs (its headroom and redundancy),
and what that costs. Every candidate is kept with the reason it is not the answer.

Speed (it reruns on every keystroke), in three layers:
1. Memory terms that do not depend on the GPU are computed once per (format, TP, PP): weight
   bytes per rank, activation peak, non-torch overhead, KV bytes per sequence. Whether a
   candidate fits is then a few subtractions (the same engine accounting as engine/memory.py).
2. From them, a lower bound on each candidate's cost: the KV pool before rounding to blocks
   bounds the sessions a replica holds, hence the replicas, nodes and dollars (the request-rate
   term can only add replicas). Candidates are evaluated cheapest bound first; once a bound
   exceeds the `top`-th cheapest feasible cost found, the rest cannot enter the ranking and are
   listed as pruned with their bound (exhaustive=True evaluates them all; tests compare).
3. The full model (engine/memory.py + the step model through engine/search_model.py) only for
   candidates that survive, with speed curves shared between engines that give the same batch.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import search_model
from .cost import PriceChoice, choose_price, cost_per_million_tokens
from .hardware import GIB, GpuSpec, PriceSpec, ServerSpec, gpu_formats
from .inputs import DEFAULT_SCENARIOS, SERVING_ENGINES, WEIGHT_FORMATS, PlanInputs, ScenarioKnobs, ServingInputs
from .memory import activation_peak_bytes, inference_memory, kv_dtype_bytes, non_torch_bytes, weight_bytes_per_gpu
from .model import check_parallelism, count_params, kv_footprint
from .physical import HOURS_PER_MONTH, node_power, physical
from .scenarios import nodes_for

Status = Literal["feasible", "price-unknown", "pruned", "sla", "too-many-gpus", "speed-unknown", "memory", "layout"]
STATUS_ORDER: dict[str, int] = {s: i for i, s in enumerate(Status.__args__)}  # type: ignore[attr-defined]
TENSOR_PARALLEL = (1, 2, 4, 8)
MAX_PIPELINE = 8
NVIDIA_ONLY_ENGINES = {"trtllm"}
SCENARIO = "recommended"
UNPRICED_EVALUATED = 3  # layouts per GPU without a price that get the full model (the rest listed)


class SearchCancelled(Exception):
    """`search(should_stop=...)` was told to stop: a newer search superseded this one."""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """What the search may change. A `keep_*` flag holds that choice at the session's value."""

    keep_gpu: bool = False
    keep_engine: bool = False
    keep_weights: bool = False
    keep_kv_cache: bool = False
    keep_parallel: bool = False
    keep_batch: bool = False  # a pinned [serving] batch; freed, each candidate takes its SLA batch
    gpu_ids: tuple[str, ...] | None = None  # only these GPUs (the session's own included if listed)
    max_gpus: int | None = None  # a fleet may provision at most this many GPUs
    top: int = 10  # candidates ranked exactly (the bound prunes only below them)
    exhaustive: bool = False  # evaluate every candidate (no pruning)
    today: str | None = None  # ISO date for price expiry; None: today

    def freed(self, choice: str) -> SearchOptions:
        return dataclasses.replace(self, **{f"keep_{choice}": False})


KEEPABLE = ("gpu", "engine", "weights", "kv_cache", "parallel", "batch")


@dataclass(frozen=True, slots=True)
class Candidate:
    gpu: str
    gpu_name: str
    tensor_parallel: int
    pipeline_parallel: int
    weights: str
    kv_cache: str
    engine: str
    status: Status
    reason: str  # why it is not a feasible answer ("" when feasible)
    fits: bool | None  # None: not evaluated
    meets_sla: bool | None
    gpus_per_node: int
    server: str | None
    price_per_gpu_hour: float | None
    price_basis: str
    price_kind: str
    cost_lower_bound: float | None = None  # per hour, from memory alone
    batch: int | None = None
    replicas: int | None = None
    gpus: int | None = None
    nodes: int | None = None
    gpus_provisioned: int | None = None
    cost_per_hour: float | None = None
    cost_per_month: float | None = None
    cost_per_million_output_tokens: float | None = None
    output_tokens_per_s_per_gpu: float | None = None
    tokens_per_s_per_user: float | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    power_kw: float | None = None
    sla_miss: float | None = None  # worst ratio of achieved to target latency (>1 misses)
    curve: tuple[tuple[float, float, int], ...] = ()  # (tokens/s/user, tokens/s/GPU, batch)

    @property
    def feasible(self) -> bool:
        return self.status == "feasible"

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def label(self) -> str:
        pp = f"xPP{self.pipeline_parallel}" if self.pipeline_parallel > 1 else ""
        owned = " (owned)" if self.price_kind == "owned" else ""
        return f"{self.gpu}{owned} TP{self.tensor_parallel}{pp} {self.weights}/{self.kv_cache} {self.engine}"

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "curve"}
        for key in ("cost_per_hour", "cost_per_month", "cost_lower_bound", "power_kw"):
            if d[key] is not None:
                d[key] = round(d[key], 2 if key != "cost_per_month" else 0)
        for key in ("cost_per_million_output_tokens",):
            if d[key] is not None:
                d[key] = round(d[key], 4)
        for key in ("output_tokens_per_s_per_gpu", "tokens_per_s_per_user", "ttft_ms", "sla_miss"):
            if d[key] is not None:
                d[key] = round(d[key], 2)
        if d["itl_ms"] is not None:
            d["itl_ms"] = round(d["itl_ms"], 2)
        d["feasible"] = self.feasible
        return d


@dataclass(frozen=True, slots=True)
class ParetoPoint:
    tokens_per_s_per_user: float
    tokens_per_s_per_gpu: float
    batch: int
    config: str


@dataclass(frozen=True)
class SearchResult:
    candidates: tuple[Candidate, ...]  # ranked: feasible cheapest first, then the rest by status
    winner: Candidate | None
    nearest_miss: Candidate | None  # when nothing is feasible: the SLA miss closest to the target
    message: str
    considered: int
    evaluated: int
    pruned: int
    pareto: dict[str, tuple[ParetoPoint, ...]]  # per GPU: tokens/s/GPU against tokens/s/user
    cost_latency: tuple[Candidate, ...]  # feasible: no other is both cheaper and lower-ITL
    options: SearchOptions
    elapsed_ms: float = 0.0
    model: str = ""
    scenario: ScenarioKnobs = field(default_factory=lambda: DEFAULT_SCENARIOS[SCENARIO])

    def front_complete(self, gpu: str) -> bool:
        """Whether `pareto[gpu]` covers every layout and format of that GPU the model could time:
        False when the cost bound (or the unpriced-layout limit) spared some of them the full
        model; `gpu_front()` then computes the whole front."""
        return not any(c.gpu == gpu and (c.status == "pruned" or (c.status == "price-unknown" and c.fits is None))
                       for c in self.candidates)

    def speed_unknown(self, gpu: str) -> str | None:
        """Why no candidate of `gpu` could be timed (its first such reason), or None when one was
        or could be."""
        mine = [c for c in self.candidates if c.gpu == gpu]
        if not mine or any(c.status not in ("speed-unknown", "memory", "layout") for c in mine):
            return None
        return next((c.reason for c in mine if c.status == "speed-unknown"), None)

    def lost_because(self, c: Candidate) -> str:
        """Why a candidate is not the answer, in a few words."""
        if c is self.winner:
            return "cheapest that meets the SLA"
        if c.feasible and self.winner and c.cost_per_hour is not None and self.winner.cost_per_hour is not None:
            delta = c.cost_per_hour - self.winner.cost_per_hour
            if delta <= 1e-9:
                return "same cost; ranked lower on $/Mtok, GPUs and ITL"
            pct = delta / self.winner.cost_per_hour * 100 if self.winner.cost_per_hour else 0.0
            return f"+${delta:,.2f}/h (+{pct:.0f}%)"
        return c.reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "message": self.message,
            "considered": self.considered,
            "evaluated": self.evaluated,
            "pruned": self.pruned,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "scenario": {"name": SCENARIO, "headroom": self.scenario.headroom,
                         "redundancy": self.scenario.redundancy, "kv_share": self.scenario.kv_share},
            "winner": self.winner.to_dict() if self.winner else None,
            "nearest_miss": self.nearest_miss.to_dict() if self.nearest_miss else None,
            "candidates": [dict(c.to_dict(), why_not_first=self.lost_because(c)) for c in self.candidates],
            "pareto": {
                gpu: [{"tokens_per_s_per_user": round(p.tokens_per_s_per_user, 2),
                       "tokens_per_s_per_gpu": round(p.tokens_per_s_per_gpu, 2),
                       "batch": p.batch, "config": p.config} for p in pts]
                for gpu, pts in self.pareto.items()
            },
            "cost_latency_frontier": [
                {"config": c.label, "cost_per_hour": round(c.cost_per_hour or 0.0, 2), "itl_ms": round(c.itl_ms or 0.0, 2)}
                for c in self.cost_latency
            ],
        }


# ------------------------------------------------------------------------------------------
# What a GPU and a model can run
# ------------------------------------------------------------------------------------------


def weight_options(inputs: PlanInputs, gpu: GpuSpec) -> tuple[str, ...]:
    """Weight formats to try on this GPU: 16-bit (bf16 where the GPU has it), FP8 where its
    tensor cores run it (Hopper, Ada, Blackwell, CDNA 3), INT8 W8A8 where FP8 is missing, 4-bit
    AWQ where weight-only int4 kernels exist, FP4 (MXFP4/NVFP4) on Blackwell, and always the
    model's own checkpoint format (engines run it weight-only where the hardware lacks it)."""
    fmts = set(gpu_formats(gpu))
    spec = inputs.model
    out = ["fp16" if spec.native_dtype == "fp16" or "bf16" not in fmts else "bf16"]
    if "fp8" in fmts:
        out.append("fp8")
    elif "int8" in fmts:
        out.append("int8")
    if "int4" in fmts:
        out.append("awq")
    for fp4 in ("mxfp4", "nvfp4"):
        if fp4 in fmts and fp4 in WEIGHT_FORMATS:
            out.append(fp4)
    native = spec.native_quant
    if native in WEIGHT_FORMATS and native not in out:
        out.append(native)
    return tuple(out)


def kv_options(gpu: GpuSpec) -> tuple[str, ...]:
    return ("auto", "fp8") if "fp8" in gpu_formats(gpu) else ("auto",)


def engine_options(gpu: GpuSpec) -> tuple[str, ...]:
    nvidia = gpu.vendor.lower() == "nvidia"
    return tuple(e for e in SERVING_ENGINES if nvidia or e not in NVIDIA_ONLY_ENGINES)


def max_model_len(inputs: PlanInputs) -> int:
    """The context plan() resolves: the session's, clamped to the model's limit (4,096 when
    neither is known)."""
    limit, wanted = inputs.model.max_context, inputs.serving.max_model_len
    if wanted is None:
        return limit if limit is not None else 4096
    return min(wanted, limit) if limit is not None else wanted


# ------------------------------------------------------------------------------------------
# The search
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    """A candidate's fields that only depend on its GPU offer (shared by its many layouts)."""

    gpu: str
    gpu_name: str
    gpus_per_node: int
    server: str | None
    price_per_gpu_hour: float | None
    price_basis: str
    price_kind: str


@dataclass(slots=True)
class _Cfg:
    gpu: GpuSpec
    tp: int
    pp: int
    weights: str
    kv: str
    engine: str
    server: ServerSpec | None
    gpn: int
    price: PriceChoice
    base: _Base
    lb: float | None = None  # cost lower bound per hour
    lb_gpus: int = 0
    planned: int = 0  # sessions per replica the KV pool allows (the bound's)
    reject: tuple[Status, str] | None = None


def search(
    inputs: PlanInputs,
    gpus: Sequence[GpuSpec],
    prices: Mapping[str, tuple[PriceSpec, ...]],
    options: SearchOptions = SearchOptions(),
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Search every configuration of `gpus` (the catalog's; the session's own GPU is added) for
    the cheapest that fits and meets the SLA. `prices`: catalog prices by GPU id. `should_stop`
    is asked before each full evaluation: True abandons the search (SearchCancelled), so that an
    app rerunning it on every keystroke drops a superseded one within a millisecond or two."""
    start = time.perf_counter()
    spec, serving = inputs.model, inputs.serving
    if not options.keep_batch and getattr(serving, "batch", None) is not None:
        serving = dataclasses.replace(serving, batch=None)  # the SLA picks each candidate's batch
    params = count_params(spec)
    knobs = inputs.scenarios.get(SCENARIO, DEFAULT_SCENARIOS[SCENARIO])
    max_len = max_model_len(inputs)
    gpn = inputs.node_gpus
    session_tokens = serving.prompt_tokens + serving.output_tokens
    avg_len = min(session_tokens, max_len)
    demand = serving.concurrent_sessions * (1.0 + knobs.headroom)
    today = options.today

    pool = _gpu_pool(inputs, gpus, options)
    tps = (inputs.tensor_parallel,) if options.keep_parallel else tuple(t for t in TENSOR_PARALLEL if t <= gpn) or (1,)
    engines_of = {g.id: ((serving.engine,) if options.keep_engine else engine_options(g)) for g in pool}

    # Layer 1: GPU-independent memory terms, once per (format, TP, PP).
    w_cache: dict[tuple[str, int, int], float] = {}
    kv_cache: dict[tuple[str, str, int, int], tuple[float, float]] = {}
    act_cache: dict[int, float] = {}
    ovh_cache: dict[tuple[int, int], float] = {}
    layout_cache: dict[tuple[int, int, str], list[str]] = {}

    def weights_b(w: str, tp: int, pp: int) -> float:
        key = (w, tp, pp)
        if key not in w_cache:
            w_cache[key] = weight_bytes_per_gpu(spec, params, w, tp, pp)
        return w_cache[key]

    def seq_b(kv: str, w: str, tp: int, pp: int) -> tuple[float, float]:
        key = (kv, w, tp, pp)
        if key not in kv_cache:
            fp = kv_footprint(spec, kv_dtype_bytes(spec, kv, w), tp, pp)
            kv_cache[key] = (fp.sequence_bytes(avg_len), fp.sequence_bytes(max_len))
        return kv_cache[key]

    def act_b(tp: int) -> float:
        if tp not in act_cache:
            act_cache[tp] = activation_peak_bytes(spec, serving, tp)
        return act_cache[tp]

    def layout(tp: int, pp: int, w: str) -> list[str]:
        if (tp, pp, w) not in layout_cache:
            layout_cache[(tp, pp, w)] = check_parallelism(spec, tp, pp) + search_model.layout_refusals(spec, w, tp)
        return layout_cache[(tp, pp, w)]

    def raw_pool(gpu: GpuSpec, engine: str, w: float, tp: int, pp: int) -> tuple[float, float]:
        """(KV pool before block rounding, what the engine may use), as engine/memory.py carves it."""
        total, frac = gpu.memory_bytes, serving.memory_fraction
        ovh = ovh_cache.get((tp, pp))
        if ovh is None:
            ovh = ovh_cache[(tp, pp)] = non_torch_bytes(tp, pp)
        if engine == "sglang":
            return total * frac - w - ovh, total * frac
        if engine == "trtllm":
            free = total - w - act_b(tp) - ovh
            return max(free, 0.0) * frac, w + act_b(tp) + ovh + max(free, 0.0) * frac
        return total * frac - w - act_b(tp) - ovh, total * frac

    # Enumerate, with the cheap fit check and the cost bound.
    cfgs: list[_Cfg] = []
    slow_of: dict[str, str | None] = {}  # GPU id -> why the step model cannot time it
    for gpu, price, server in _offers(inputs, pool, prices, today):
        single = [(tp, inputs.pipeline_parallel if options.keep_parallel else 1) for tp in tps]
        w_opts = (inputs.weights,) if options.keep_weights else weight_options(inputs, gpu)
        k_opts = (inputs.kv_cache,) if options.keep_kv_cache else kv_options(gpu)
        engines = engines_of[gpu.id]
        if gpu.id not in slow_of:
            slow_of[gpu.id] = search_model.unknown_speed(spec, gpu, w_opts[0], engines[0])
        slow = slow_of[gpu.id]
        base = _Base(gpu.id, gpu.label, gpn, server.id if server else None, price.per_gpu_hour, price.basis, price.kind)
        for w in w_opts:
            layouts = single if options.keep_parallel else single + _pipeline_layout(gpu, w, tps, weights_b, raw_pool, engines, spec.num_layers)
            for tp, pp in layouts:
                problems = layout(tp, pp, w)
                wb = weights_b(w, tp, pp)
                pools = [raw_pool(gpu, engine, wb, tp, pp) for engine in engines]  # the KV format does not enter
                for kv in k_opts:
                    seq_avg, seq_max = seq_b(kv, w, tp, pp)
                    for engine, (raw, budget) in zip(engines, pools):
                        c = _Cfg(gpu, tp, pp, w, kv, engine, server, gpn, price, base)
                        cfgs.append(c)
                        if problems:
                            c.reject = ("layout", "; ".join(problems))
                            continue
                        if raw <= 0:
                            c.reject = ("memory", f"weights {wb / GIB:.1f} GiB + activations and overhead leave no KV cache "
                                                  f"in the {budget / GIB:.1f} GiB {engine} may use per GPU")
                            continue
                        if seq_max > 0 and raw < seq_max:
                            c.reject = ("memory", f"the KV pool ({raw / GIB:.1f} GiB) holds less than one "
                                                  f"{max_len:,}-token sequence")
                            continue
                        sessions_ub = int(raw // seq_avg) if seq_avg > 0 else serving.max_num_seqs
                        planned = max(min(int(sessions_ub * knobs.kv_share), serving.max_num_seqs), 1)
                        replicas = max(math.ceil(demand / planned), 1) + knobs.redundancy
                        c.planned = planned
                        c.lb_gpus = nodes_for(replicas, tp * pp, gpn) * gpn
                        if price.per_gpu_hour is not None:
                            c.lb = c.lb_gpus * price.per_gpu_hour
                        if slow is not None:  # listed with its bound, never pruned as if it were known
                            c.reject = ("speed-unknown", slow)
                        elif options.max_gpus is not None and c.lb_gpus > options.max_gpus:
                            c.reject = ("too-many-gpus", f"needs at least {c.lb_gpus} GPUs, more than --max-gpus {options.max_gpus}")

    # Layers 2 and 3: evaluate cheapest bound first; stop when the bound passes the top-th cost.
    open_cfgs = [c for c in cfgs if c.reject is None]
    priced = sorted((c for c in open_cfgs if c.lb is not None), key=_visit_order)
    unpriced = [c for c in open_cfgs if c.lb is None]
    speed_cache: dict[tuple, search_model.Speed] = {}
    serving_by_engine: dict[str, tuple[ServingInputs, ServingInputs]] = {}  # engine -> (inputs, workload key)
    out: list[Candidate] = []
    best_costs: list[float] = []  # sorted feasible costs, at most `top`
    evaluated = pruned = 0
    top = max(1, options.top)

    def evaluate(c: _Cfg) -> Candidate:
        nonlocal evaluated
        if should_stop is not None and should_stop():
            raise SearchCancelled
        evaluated += 1
        pair = serving_by_engine.get(c.engine)
        if pair is None:
            srv = dataclasses.replace(serving, engine=c.engine)
            pair = serving_by_engine[c.engine] = (srv, search_model.workload_key(srv))
        return _evaluate(inputs, c, pair[0], params, max_len, knobs, speed_cache, options.max_gpus, pair[1])

    for c in priced:
        # A bound equal to the top-th cost cannot lower any of the top costs either (ties at that
        # cost are listed as pruned with their bound).
        if not options.exhaustive and len(best_costs) >= top and c.lb is not None and c.lb >= best_costs[-1] - 1e-9:
            pruned += 1
            out.append(_bare(c, "pruned", f"costs at least ${c.lb:,.2f}/h ({c.lb_gpus} GPUs for the sessions alone), "
                                          f"more than the top {top}"))
            continue
        cand = evaluate(c)
        out.append(cand)
        if cand.feasible and cand.cost_per_hour is not None:
            best_costs.append(cand.cost_per_hour)
            best_costs.sort()
            del best_costs[top:]
    # No price: nothing to rank them by, but a user wants to know whether they would serve. Per
    # GPU (and price), the `top` layouts needing the fewest GPUs are evaluated; the rest listed.
    per_gpu: dict[tuple[str, str], int] = {}
    for c in sorted(unpriced, key=lambda c: c.lb_gpus):
        key = (c.gpu.id, c.price.kind)
        if options.exhaustive or per_gpu.get(key, 0) < UNPRICED_EVALUATED:
            per_gpu[key] = per_gpu.get(key, 0) + 1
            out.append(evaluate(c))
        else:
            out.append(_bare(c, "price-unknown", f"price unknown ({c.price.basis}); needs at least {c.lb_gpus} GPUs, "
                                                 f"not evaluated beyond this GPU's {UNPRICED_EVALUATED} smallest layouts"))
    for c in cfgs:
        if c.reject is not None:
            out.append(_bare(c, c.reject[0], c.reject[1]))

    ranked = tuple(sorted(out, key=_rank_key))
    winner = ranked[0] if ranked and ranked[0].feasible else None
    nearest = None
    if winner is None:
        misses = [c for c in ranked if c.status == "sla" and c.sla_miss is not None]
        nearest = min(misses, key=lambda c: (c.sla_miss, c.cost_per_hour or math.inf)) if misses else None
    result = SearchResult(
        candidates=ranked,
        winner=winner,
        nearest_miss=nearest,
        message=_message(inputs, ranked, winner, nearest),
        considered=len(cfgs),
        evaluated=evaluated,
        pruned=pruned,
        pareto=_pareto(ranked),
        cost_latency=_cost_latency(ranked),
        options=options,
        model=spec.id,
        scenario=knobs,
    )
    return dataclasses.replace(result, elapsed_ms=(time.perf_counter() - start) * 1e3)


def _visit_order(c: _Cfg) -> tuple:
    return (c.lb, c.lb_gpus)


def gpu_front(inputs: PlanInputs, gpu: GpuSpec, prices: Sequence[PriceSpec] = (),
              options: SearchOptions = SearchOptions(),
              should_stop: Callable[[], bool] | None = None) -> tuple[ParetoPoint, ...]:
    """One GPU's whole Pareto front: every layout and format evaluated, nothing pruned (what the
    Search view plots for a GPU whose candidates the cost bound spared). Speeds come from, and
    go to, the cache the searches share."""
    one = dataclasses.replace(options, gpu_ids=(gpu.id,), exhaustive=True)
    return search(inputs, [gpu], {gpu.id: tuple(prices)}, one, should_stop).pareto.get(gpu.id, ())


def _gpu_pool(inputs: PlanInputs, gpus: Sequence[GpuSpec], options: SearchOptions) -> list[GpuSpec]:
    if options.keep_gpu:
        return [inputs.gpu]
    pool = [inputs.gpu] + [g for g in gpus if g.id != inputs.gpu.id]
    if options.gpu_ids is not None:
        wanted = {i.casefold() for i in options.gpu_ids}
        pool = [g for g in pool if g.id.casefold() in wanted]
    return pool


def _offers(inputs: PlanInputs, pool: Sequence[GpuSpec], prices: Mapping[str, tuple[PriceSpec, ...]],
            today: str | None) -> list[tuple[GpuSpec, PriceChoice, ServerSpec | None]]:
    """Each GPU with the price to plan it at and the server it sits in. The session's own price
    (or owned hardware, [costs] capex) belongs to the session's GPU, whose server it keeps; owned
    GPUs are offered rented too. A [costs] provider applies wherever it lists the GPU; elsewhere
    the catalog default."""
    out = []
    gpn = inputs.node_gpus
    for gpu in pool:
        rented = _catalog_price(inputs, gpu, prices.get(gpu.id, ()), today)
        if gpu.id != inputs.gpu.id:
            out.append((gpu, rented, None))
            continue
        node = node_power(gpu, inputs.server, gpn, inputs.costs)
        own = choose_price(inputs.costs, inputs.prices or prices.get(gpu.id, ()), today,
                           gpu_kw=node.kw / gpn if node.kw else None)
        if own.per_gpu_hour is None and inputs.costs.price_per_gpu_hour is None and inputs.costs.capex is None:
            own = rented
        out.append((gpu, own, inputs.server))
        if own.kind == "owned" and rented.per_gpu_hour is not None:
            out.append((gpu, rented, inputs.server))
    return out


def _catalog_price(inputs: PlanInputs, gpu: GpuSpec, listed: tuple[PriceSpec, ...], today: str | None) -> PriceChoice:
    costs = dataclasses.replace(inputs.costs, price_per_gpu_hour=None, capex=None)
    choice = choose_price(costs, listed, today)
    if choice.per_gpu_hour is None and costs.provider:
        fallback = choose_price(dataclasses.replace(costs, provider=None), listed, today)
        if fallback.per_gpu_hour is not None:
            return dataclasses.replace(fallback, basis=f"{fallback.basis} (no {costs.provider} price)")
    return choice


def _pipeline_layout(gpu, weights, tps, weights_b, raw_pool, engines, num_layers: int) -> list[tuple[int, int]]:
    """Pipeline parallel only where no single-node layout holds the weights in this format: the
    smallest PP (with the widest TP) that leaves room for a KV cache."""
    if any(raw_pool(gpu, e, weights_b(weights, tp, 1), tp, 1)[0] > 0 for tp in tps for e in engines):
        return []
    widest = max(tps)
    for pp in range(2, min(MAX_PIPELINE, num_layers) + 1):
        if any(raw_pool(gpu, e, weights_b(weights, widest, pp), widest, pp)[0] > 0 for e in engines):
            return [(widest, pp)]
    return []


def _common(c: _Cfg) -> dict[str, Any]:
    b = c.base
    return dict(
        gpu=b.gpu, gpu_name=b.gpu_name, tensor_parallel=c.tp, pipeline_parallel=c.pp, weights=c.weights,
        kv_cache=c.kv, engine=c.engine, gpus_per_node=b.gpus_per_node, server=b.server,
        price_per_gpu_hour=b.price_per_gpu_hour, price_basis=b.price_basis, price_kind=b.price_kind,
        cost_lower_bound=c.lb,
    )


def _bare(c: _Cfg, status: Status, reason: str) -> Candidate:
    """A candidate the full model never saw (positional: the search builds a thousand of these)."""
    b = c.base
    return Candidate(b.gpu, b.gpu_name, c.tp, c.pp, c.weights, c.kv, c.engine, status, reason,
                     False if status in ("memory", "layout") else None, None, b.gpus_per_node, b.server,
                     b.price_per_gpu_hour, b.price_basis, b.price_kind, c.lb)


def _evaluate(inputs: PlanInputs, c: _Cfg, serving: ServingInputs, params, max_len: int, knobs: ScenarioKnobs,
              speed_cache: dict, max_gpus: int | None, workload: ServingInputs | None = None) -> Candidate:
    spec, gpu, gpn = inputs.model, c.gpu, c.gpn
    mem = inference_memory(spec, gpu, serving, weights=c.weights, kv_cache=c.kv, tensor_parallel=c.tp,
                           pipeline_parallel=c.pp, max_model_len=max_len, params=params)
    if not mem.fits:
        return _bare(c, "memory", mem.reason)
    key = search_model.speed_key(gpu.id, c.weights, c.kv, c.tp, c.pp, c.engine, mem)
    sp = speed_cache.get(key)
    if sp is None:
        sp = speed_cache[key] = search_model.cached_speed(spec, params, mem, gpu, serving, c.weights, c.kv, c.tp,
                                                          c.pp, workload)
    if not sp.known:
        return Candidate(status="speed-unknown", reason=sp.reason or "speed unknown", fits=True, meets_sla=None,
                         **_common(c))
    sizing = search_model.size(SCENARIO, knobs, mem, serving, gpn, sp)
    assert sizing is not None  # the model fits
    node = node_power(gpu, c.server, gpn, inputs.costs)
    phys = physical(sizing.nodes, node, inputs.costs)
    price = c.price.per_gpu_hour
    per_hour = sizing.gpus_provisioned * price if price is not None else None
    served = search_model.served_tokens_per_s(serving, sp, sizing.replicas)
    gpr = c.tp * c.pp
    misses = []
    if serving.itl_ms and sp.itl_ms is not None:
        misses.append(sp.itl_ms / serving.itl_ms)
    if serving.ttft_ms and sp.ttft_ms is not None:
        misses.append(sp.ttft_ms / serving.ttft_ms)
    if sp.meets_sla is False:
        status, reason = "sla", "SLA: " + "; ".join(sp.sla_notes)
    elif max_gpus is not None and sizing.gpus_provisioned > max_gpus:
        status, reason = "too-many-gpus", f"needs {sizing.gpus_provisioned} GPUs, more than --max-gpus {max_gpus}"
    elif per_hour is None:
        status, reason = "price-unknown", f"price unknown: {c.price.basis}"
    else:
        status, reason = "feasible", ""
    return Candidate(
        status=status, reason=reason, fits=True, meets_sla=sp.meets_sla, batch=sp.batch, replicas=sizing.replicas,
        gpus=sizing.gpus, nodes=sizing.nodes, gpus_provisioned=sizing.gpus_provisioned, cost_per_hour=per_hour,
        cost_per_month=per_hour * HOURS_PER_MONTH if per_hour is not None else None,
        cost_per_million_output_tokens=cost_per_million_tokens(per_hour, served),
        output_tokens_per_s_per_gpu=sp.output_tokens_per_s_per_gpu,
        tokens_per_s_per_user=1000.0 / sp.itl_ms if sp.itl_ms else None,
        ttft_ms=sp.ttft_ms, itl_ms=sp.itl_ms, power_kw=phys.power_kw,
        sla_miss=max(misses) if misses else None,
        curve=tuple((1000.0 / itl, per_gpu, b) for b, itl, per_gpu in sp.curve if itl > 0),
        **_common(c),
    )


def _rank_key(c: Candidate) -> tuple:
    order = STATUS_ORDER[c.status]
    ident = (c.gpu, c.price_kind, c.tensor_parallel, c.pipeline_parallel, c.weights, c.kv_cache, c.engine)
    if c.status == "feasible":
        return (order, c.cost_per_hour, c.cost_per_million_output_tokens or math.inf, c.gpus or 0, c.itl_ms or math.inf, ident)
    if c.status == "price-unknown":
        if c.fits is None:  # not evaluated: after every evaluated candidate that has a reason
            return (STATUS_ORDER["speed-unknown"] + 0.5, 0.0, 0.0, 0, 0.0, ident)
        return (order, c.gpus_provisioned or 0, c.itl_ms or math.inf, 0, 0.0, ident)
    if c.status in ("pruned", "too-many-gpus"):
        return (order, c.cost_lower_bound or math.inf, 0.0, 0, 0.0, ident)
    if c.status == "sla":
        return (order, c.sla_miss or math.inf, c.cost_per_hour or math.inf, 0, 0.0, ident)
    return (order, 0.0, 0.0, 0, 0.0, ident)


def _message(inputs: PlanInputs, ranked: Sequence[Candidate], winner: Candidate | None, nearest: Candidate | None) -> str:
    s = inputs.serving
    if winner is not None:
        return (f"cheapest: {winner.label}, {winner.replicas} replicas on {winner.gpus_provisioned} GPUs, "
                f"${winner.cost_per_hour:,.2f}/h ({winner.price_basis})")
    sla = f"TTFT {s.ttft_ms:g} ms, ITL {s.itl_ms:g} ms"
    if nearest is not None:
        return (f"nothing meets the SLA ({sla}); nearest miss: {nearest.label} at TTFT {nearest.ttft_ms:.0f} ms, "
                f"ITL {nearest.itl_ms:.1f} ms ({nearest.sla_miss:.2f}x the target): {nearest.reason}")
    if any(c.status == "price-unknown" for c in ranked):
        return "configurations meet the SLA but none has a price: set [costs] price_per_gpu_hour"
    if any(c.status == "too-many-gpus" for c in ranked):
        return "every configuration that fits needs more GPUs than --max-gpus allows"
    if ranked and all(c.status in ("memory", "layout") for c in ranked):
        return f"{inputs.model.label} fits no searched GPU layout (up to TP{max(TENSOR_PARALLEL)} x PP{MAX_PIPELINE})"
    return "no configuration could be evaluated"


def _pareto(ranked: Sequence[Candidate]) -> dict[str, tuple[ParetoPoint, ...]]:
    """Per GPU, the points (over every evaluated layout, format and batch) that no other point
    beats on both tokens/s per user and tokens/s per GPU (AIConfigurator's Pareto view)."""
    by_gpu: dict[str, list[ParetoPoint]] = {}
    seen: set[tuple] = set()
    for c in ranked:
        if not c.curve:
            continue
        cfg = f"TP{c.tensor_parallel}{'xPP' + str(c.pipeline_parallel) if c.pipeline_parallel > 1 else ''} {c.weights}/{c.kv_cache}"
        for user, per_gpu, batch in c.curve:
            key = (c.gpu, cfg, batch)
            if key in seen:
                continue
            seen.add(key)
            by_gpu.setdefault(c.gpu, []).append(ParetoPoint(user, per_gpu, batch, cfg))
    return {gpu: _front(points) for gpu, points in by_gpu.items()}


def _front(points: list[ParetoPoint]) -> tuple[ParetoPoint, ...]:
    best: list[ParetoPoint] = []
    top_gpu = -math.inf
    for p in sorted(points, key=lambda p: (-p.tokens_per_s_per_user, -p.tokens_per_s_per_gpu)):
        if p.tokens_per_s_per_gpu > top_gpu:
            best.append(p)
            top_gpu = p.tokens_per_s_per_gpu
    return tuple(best)


def _cost_latency(ranked: Sequence[Candidate]) -> tuple[Candidate, ...]:
    front: list[Candidate] = []
    best_itl = math.inf
    for c in ranked:  # feasible come first, cheapest first
        if not c.feasible:
            break
        if c.itl_ms is not None and c.itl_ms < best_itl - 1e-9:
            front.append(c)
            best_itl = c.itl_ms
    return tuple(front)


# ------------------------------------------------------------------------------------------
# Writing a candidate back into a session
# ------------------------------------------------------------------------------------------


def session_edits(inputs: PlanInputs, c: Candidate, keep_batch: bool = False) -> dict[str, Any]:
    """Session fields (dotted paths, DESIGN section 3) that make the session plan this candidate;
    None removes a key. Planning the edited session gives the candidate's figures."""
    edits: dict[str, Any] = {
        "model.weights": c.weights,
        "model.kv_cache": c.kv_cache,
        "hardware.tensor_parallel": c.tensor_parallel,
        "hardware.pipeline_parallel": c.pipeline_parallel,
        "serving.engine": c.engine,
        "hardware.expert_parallel": None,  # the search plans without expert parallelism
        "hardware.data_parallel_attention": None,
    }
    if not keep_batch:
        edits["serving.batch"] = None
    if c.gpu != inputs.gpu.id:
        edits["hardware.gpu"] = c.gpu
        edits["hardware.gpu_spec"] = None
        edits["hardware.server"] = None
        edits["hardware.gpus_per_node"] = c.gpus_per_node
    if c.price_kind in ("session", "owned"):
        pass  # the session's own price or owned hardware, for its own GPU: unchanged
    elif c.price_kind == "provider":
        edits.update({"costs.price_per_gpu_hour": None, "costs.capex": None, "costs.amortization_years": None})
    else:
        edits.update({"costs.price_per_gpu_hour": None, "costs.provider": None, "costs.capex": None,
                      "costs.amortization_years": None})
    return edits
