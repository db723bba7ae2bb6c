"""Serving figures of one replica under a closed loop of `batch` clients: TTFT, TPOT, end-to-end
latency and throughput, the curve over batch sizes, and the batch an SLA allows.

Entry point for callers that size many candidates (the configuration search):

    from engine.serving import estimate_serving
    point = estimate_serving(spec, gpu, weights="fp8", kv_cache="auto", tensor_parallel=8,
                             expert_parallel=1, engine="sglang", batch=64,
                             prompt_tokens=1000, output_tokens=1000)
    point.output_tokens_per_s_per_gpu, point.tpot_ms, point.ttft_ms, ...

It is a pure function of its arguments; the per-layout constants are cached
(`step_model.replica_profile`), so one call costs some tens of microseconds. `serving_curve` and
`choose_batch` build the curve and the SLA verdict from the same points.

Model (per replica; cites in comments): continuous batching as vLLM/SGLang/TensorRT-LLM run it.
Each step decodes one token for every running sequence; new prompts are prefilled in chunks of at
most `max_num_batched_tokens` tokens, riding in decode steps (vLLM chunked prefill, TensorRT-LLM
in-flight batching) or stalling them (SGLang's prefill-first scheduler). With `batch` clients in
a closed loop, each request's life is E = TTFT + (O - 1) TPOT, the replica finishes batch / E
requests/s (Little's law), and a fraction u = rate x chunk steps x chunk time of the time goes to
prefill chunks. TPOT is the mean step time a decoding sequence sees over that mix; TTFT is the
request's own chunk steps plus the wait for the prefill slot, an M/D/1 queue at load u
(Kleinrock, Queueing Systems I, sec. 5.6: W = S u / (2 (1 - u))), or, when the loop's
equal-length requests stay bunched in waves, behind a fitted share of the other clients' prefills. E is the fixed point of these,
found by bisection (the right-hand side falls as E grows). Requests beyond what the KV cache or
max_num_seqs admits wait in the queue: their wait adds to TTFT, not to TPOT.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .calibration import ServingEfficiency
from .hardware import GpuSpec
from .model import ModelSpec
from .step_model import ReplicaProfile, replica_profile, step_seconds

CURVE_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
MAX_LOAD = 0.995  # prefill-slot utilisation is capped below 1 (the closed loop never exceeds it)
MIN_CHUNK = 256  # tokens of prefill a mixed step still carries when decodes fill its budget


@dataclass(frozen=True, slots=True)
class Speculation:
    """Speculative decoding: `tokens` drafted per step, each accepted with probability
    `acceptance` given the previous was; `method` 'mtp' (the model's own multi-token-prediction
    head, one layer per draft token) or 'draft' (a separate small model)."""

    method: str = "mtp"
    tokens: int = 1
    acceptance: float = 0.7

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens a verify step emits: (1 - a^(k+1)) / (1 - a) (Leviathan et al. 2023,
        eq. 1)."""
        a, k = min(max(self.acceptance, 0.0), 0.999), max(self.tokens, 0)
        return (1 - a ** (k + 1)) / (1 - a)


@dataclass(frozen=True, slots=True)
class SchedulerPolicy:
    """How the engine's scheduler admits new prompts: server flags that move TTFT (and, through the
    closed loop, the request rate) without changing what a step costs.

    - `poll_steps`: decode steps between two looks at the request queue. 1 for vLLM, TensorRT-LLM
      and SGLang's defaults; SGLang's `--scheduler-recv-interval N` (SchedulerRecvSkipper: a decode
      step counts 1, a prefill resets it) and `--num-continuous-decode-steps N` make it N. A
      request that arrives mid-window waits N/2 decode steps on average, and every prompt that
      arrived in the window is prefilled in the same batch.
    - `dp_balance_timeout_steps`: TensorRT-LLM's `attention_dp_config.enable_balance` holds context
      requests until every data-parallel attention rank has one, for at most `timeout_iters` steps
      (0: off)."""

    poll_steps: int = 1
    dp_balance_timeout_steps: int = 0


DEFAULT_SCHEDULER = SchedulerPolicy()


def _coupon_arrivals(ranks: int) -> float:
    """Expected arrivals until each of `ranks` equally likely ranks holds one: n * H(n) (the coupon
    collector, Feller, An Introduction to Probability Theory, vol. I, sec. IX.3)."""
    return ranks * sum(1.0 / i for i in range(1, ranks + 1))


@dataclass(frozen=True, slots=True)
class ServingPoint:
    batch: int  # requests in flight on the replica (the benchmark's concurrency)
    running: int  # sequences the engine actually runs (KV and max_num_seqs cap)
    ttft_ms: float
    tpot_ms: float  # inter-token latency as benchmarks report it: (e2e - ttft) / (output - 1)
    e2e_ms: float
    tokens_per_s_per_user: float  # 1000 / TPOT
    output_tokens_per_s: float  # per replica
    total_tokens_per_s: float  # input + output, per replica
    requests_per_s: float  # per replica
    output_tokens_per_s_per_gpu: float
    total_tokens_per_s_per_gpu: float
    decode_step_ms: float  # a decode-only step at this batch
    bound: str  # what the decode step is limited by: "memory" or "compute"
    prefill_share: float = 0.0  # share of the replica's time spent on prompt tokens (for cost)
    prompt_load: float = 0.0  # share of the replica's prompt capacity the loop uses (1: prompt-bound)

    @property
    def itl_ms(self) -> float:
        return self.tpot_ms


def _decode_bound(p: ReplicaProfile, d: float, ctx: float, tps: float) -> str:
    """Memory-bound when halving the achieved FLOPs would not move the decode step."""
    base = step_seconds(p, d, ctx, tokens_per_sequence=tps)
    slower = replace(p, dense_rate=p.dense_rate / 2, expert_rate=p.expert_rate / 2, attn_rate=p.attn_rate / 2)
    return "memory" if step_seconds(slower, d, ctx, tokens_per_sequence=tps) <= base * 1.0001 else "compute"


def closed_loop(
    p: ReplicaProfile,
    batch: int,
    prompt_tokens: float,
    output_tokens: float,
    max_num_batched_tokens: int = 8192,
    max_running: int | None = None,
    speculation: Speculation | None = None,
    with_bound: bool = False,
    scheduler: SchedulerPolicy = DEFAULT_SCHEDULER,
) -> ServingPoint:
    """One point of the curve: `batch` closed-loop clients on one replica."""
    c = max(1, int(batch))
    run = min(c, max(1, int(max_running))) if max_running else c
    inp, out = max(1.0, float(prompt_tokens)), max(1.0, float(output_tokens))
    ctx = inp + out / 2
    k = speculation.tokens if speculation else 0
    per_step = speculation.tokens_per_step if speculation else 1.0
    tps = 1.0 + k  # tokens a verify step processes per sequence
    budget = float(max(1, max_num_batched_tokens))
    # A lone client never waits for a poll: the engine is idle when its request arrives.
    poll = float(max(1, scheduler.poll_steps)) if run > 1 else 1.0
    ranks = p.attention_dp if scheduler.dp_balance_timeout_steps and p.attention_dp > 1 else 1
    balance_arrivals = _coupon_arrivals(ranks) - 1.0 if ranks > 1 else 0.0

    mixed = p.mixed_prefill
    # Every admitted sequence is counted as decoding in every step (an upper bound: the few waiting for
    # their prefill also take no decode slot). Refining it by a fixed point made the closed loop
    # non-monotone in the GPU's speed (a faster GPU could lose prompt room and throughput).
    d = float(run)
    room = max(budget - d * tps, MIN_CHUNK) if mixed else budget  # prompt tokens a step takes
    n_c = max(1.0, inp / room)  # steps one prompt spans
    chunk = min(inp, room)
    tau_d0 = step_seconds(p, d, ctx, tokens_per_sequence=tps)
    draft = 0.0
    if k and speculation is not None:
        # Drafting: an MTP head is one more decoder layer per draft token (DeepSeek-V3 report
        # sec. 2.2); a draft model is taken at a tenth of the target's step.
        one_layer = (tau_d0 - p.step_overhead_s) / max(p.layers, 1) * 1.5
        draft = k * (one_layer if speculation.method == "mtp" else 0.1 * tau_d0)
    tau_d = tau_d0 + draft
    # A step's time is piecewise linear in its prompt tokens (max of memory and compute plus
    # linear collectives); the chord from none to a full chunk bounds it from above.
    if mixed:
        tau_room = step_seconds(p, d, ctx, room, inp / 2, tokens_per_sequence=tps) + draft
        tau_chunk = step_seconds(p, d, ctx, chunk, inp / 2, tokens_per_sequence=tps) + draft
    else:
        tau_room = step_seconds(p, 0.0, ctx, budget, inp / 2)
        tau_chunk = step_seconds(p, 0.0, ctx, chunk, inp / 2)
    slope = max(tau_room - (tau_d if mixed else 0.0), 0.0) / room  # seconds per prompt token
    token_s = tau_room / room

    def admission(r: float) -> float:
        """Mean wait before the scheduler takes a new prompt: the rest of the current poll window
        (half of it), and under attention-DP balancing half the time until every rank holds a
        prompt, capped by the timeout."""
        wait = 0.5 * poll * tau_d
        if balance_arrivals:
            cap_s = scheduler.dp_balance_timeout_steps * tau_d
            wait += 0.5 * (min(balance_arrivals / r, cap_s) if r > 0 else cap_s)
        return wait

    def at_rate(r: float) -> tuple[float, float, float, float, float]:
        """(cycle, ttft, tpot, prefill time share, prompt load) when the replica completes r
        requests/s."""
        demand = r * inp  # prompt tokens/s
        if mixed:
            # Every step carries the prompt tokens that arrived during it: pre = demand * tau,
            # tau = tau_d + slope * pre, so tau = tau_d / (1 - slope * demand), capped when
            # the prompts fill the room of every step.
            x = slope * demand
            tau = tau_d / (1 - x) if x < 1 - tau_d / tau_room else tau_room
            u = min(demand * tau / room, MAX_LOAD)
            step, busy = tau, (tau - tau_d) / tau
            own = n_c * max(tau, tau_chunk)
        else:
            # Prefill-only batches stall the decodes (SGLang): they take u of the time.
            u = min(demand * slope, MAX_LOAD)
            step, busy = tau_d / (1 - u), u
            # The prompts that arrived during one poll window are prefilled in one batch.
            own = max(n_c * tau_chunk, min(tau_room, demand * poll * tau_d * slope + tau_chunk))
        ttft_q = p.ttft_overhead_s + own * (1 + u / (2 * (1 - u))) + admission(r)
        tpot_ = step / per_step
        return ttft_q + (out - 1) * tpot_, ttft_q, tpot_, busy, u

    # The rate solves f(r) = r * cycle(r) - run = 0; f rises with r (cycle does), so the root is
    # bracketed by [0, run / cycle(0)] and found by regula falsi with the Illinois modification
    # (Dowell & Jarratt 1971), which keeps the bracket and converges superlinearly. Solved to 1e-9:
    # the invariants (a faster GPU is never slower) are asserted to 1e-5.
    lo, hi = 0.0, run / at_rate(0.0)[0]
    f_lo, f_hi = -float(run), hi * at_rate(hi)[0] - run
    side = 0
    for _ in range(100):
        if f_hi <= 0.0 or hi - lo <= 1e-9 * hi:
            break
        mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        if not lo < mid < hi:
            mid = 0.5 * (lo + hi)
        f_mid = mid * at_rate(mid)[0] - run
        if f_mid < 0.0:
            lo, f_lo = mid, f_mid
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = mid, f_mid
            if side == 1:
                f_lo *= 0.5
            side = 1
    cycle, ttft_queue, tpot, share, load = at_rate(hi)
    rate = run / cycle
    # Bunching: in a closed loop of equal-length requests new prompts arrive in waves, so a prompt
    # also waits behind a share of the other clients' prompt tokens. It delays first tokens without
    # idling the engine, so it moves TTFT, not the rate (work conservation).
    wave = p.ttft_wave * (run - 1) / 2 * inp * token_s
    unloaded = p.ttft_overhead_s + n_c * tau_chunk + admission(rate)
    ttft = max(ttft_queue, unloaded + wave)
    e2e = ttft + (out - 1) * tpot

    if c > run:
        # Little's law for the whole loop: the clients the engine cannot admit wait in its queue.
        waiting = c / rate - cycle
        ttft += waiting
        e2e += waiting
    gpus = p.gpus
    return ServingPoint(
        batch=c,
        running=run,
        ttft_ms=ttft * 1e3,
        tpot_ms=tpot * 1e3,
        e2e_ms=e2e * 1e3,
        tokens_per_s_per_user=1.0 / tpot if tpot > 0 else 0.0,
        output_tokens_per_s=rate * out,
        total_tokens_per_s=rate * (inp + out),
        requests_per_s=rate,
        output_tokens_per_s_per_gpu=rate * out / gpus,
        total_tokens_per_s_per_gpu=rate * (inp + out) / gpus,
        decode_step_ms=tau_d * 1e3,
        bound=_decode_bound(p, d, ctx, tps) if with_bound else "",
        prefill_share=min(max(share, 0.0), 1.0),
        prompt_load=min(max(load / MAX_LOAD, 0.0), 1.0),
    )


def serving_curve(
    p: ReplicaProfile,
    prompt_tokens: float,
    output_tokens: float,
    max_num_batched_tokens: int = 8192,
    max_running: int | None = None,
    speculation: Speculation | None = None,
    batches: tuple[int, ...] = CURVE_BATCHES,
    scheduler: SchedulerPolicy = DEFAULT_SCHEDULER,
) -> tuple[ServingPoint, ...]:
    """The curve over batch sizes up to what the replica admits (the cap itself included)."""
    cap = max_running or max(batches)
    wanted = sorted({b for b in batches if b <= cap} | ({cap} if max_running else set()))
    return tuple(closed_loop(p, b, prompt_tokens, output_tokens, max_num_batched_tokens, max_running, speculation,
                             scheduler=scheduler)
                 for b in wanted)


@dataclass(frozen=True, slots=True)
class BatchChoice:
    point: ServingPoint
    meets_sla: bool | None  # None: no SLA given
    binding: str  # "memory", "ttft", "itl", "throughput" or "pinned"
    notes: tuple[str, ...] = ()


def _meets(pt: ServingPoint, ttft_ms: float | None, itl_ms: float | None) -> bool:
    return (ttft_ms is None or pt.ttft_ms <= ttft_ms) and (itl_ms is None or pt.tpot_ms <= itl_ms)


def _violation(pt: ServingPoint, ttft_ms: float | None, itl_ms: float | None) -> str:
    if itl_ms is not None and pt.tpot_ms > itl_ms:
        return "itl"
    return "ttft"


def choose_batch(
    p: ReplicaProfile,
    curve: tuple[ServingPoint, ...],
    prompt_tokens: float,
    output_tokens: float,
    ttft_ms: float | None,
    itl_ms: float | None,
    max_num_batched_tokens: int = 8192,
    max_running: int | None = None,
    speculation: Speculation | None = None,
    pinned: int | None = None,
    scheduler: SchedulerPolicy = DEFAULT_SCHEDULER,
) -> BatchChoice:
    """The batch to plan with: the pinned one; else the largest meeting the SLA (refined between
    curve points by bisection); with no SLA the batch of highest throughput."""
    args = (prompt_tokens, output_tokens, max_num_batched_tokens, max_running, speculation)
    notes: list[str] = []
    if pinned:
        pt = closed_loop(p, pinned, *args, scheduler=scheduler)
        meets = None if ttft_ms is None and itl_ms is None else _meets(pt, ttft_ms, itl_ms)
        binding = "pinned"
        if max_running and pinned > max_running:
            binding = "memory"
            notes.append(f"batch {pinned} exceeds the {max_running} sequences the KV cache and max_num_seqs "
                         f"admit: {pinned - max_running} requests wait in the queue (TTFT includes it)")
        if meets is False:
            notes.extend(_sla_notes(pt, ttft_ms, itl_ms))
        return BatchChoice(pt, meets, binding, tuple(notes))
    if ttft_ms is None and itl_ms is None:
        best = max(curve, key=lambda q: q.output_tokens_per_s)
        at_cap = max_running is not None and best.batch >= max_running
        return BatchChoice(best, None, "memory" if at_cap else "throughput")
    ok = [q for q in curve if _meets(q, ttft_ms, itl_ms)]
    if not ok:
        first = curve[0]
        return BatchChoice(first, False, _violation(first, ttft_ms, itl_ms), tuple(_sla_notes(first, ttft_ms, itl_ms)))
    good = max(ok, key=lambda q: q.batch)
    above = [q for q in curve if q.batch > good.batch]
    if not above:
        at_cap = max_running is not None and good.batch >= max_running
        return BatchChoice(good, True, "memory" if at_cap else "throughput")
    bad = min(above, key=lambda q: q.batch)
    lo, hi = good, bad
    while hi.batch - lo.batch > 1:
        mid = closed_loop(p, (lo.batch + hi.batch) // 2, *args, scheduler=scheduler)
        if _meets(mid, ttft_ms, itl_ms):
            lo = mid
        else:
            hi = mid
    return BatchChoice(lo, True, _violation(hi, ttft_ms, itl_ms))


def _sla_notes(pt: ServingPoint, ttft_ms: float | None, itl_ms: float | None) -> list[str]:
    notes = []
    if itl_ms is not None and pt.tpot_ms > itl_ms:
        notes.append(f"TPOT {pt.tpot_ms:.1f} ms at batch {pt.batch} exceeds the {itl_ms:g} ms ITL SLA")
    if ttft_ms is not None and pt.ttft_ms > ttft_ms:
        notes.append(f"TTFT {pt.ttft_ms:.0f} ms at batch {pt.batch} exceeds the {ttft_ms:g} ms SLA")
    return notes


def estimate_serving(
    spec: ModelSpec,
    gpu: GpuSpec,
    *,
    weights: str,
    kv_cache: str = "auto",
    tensor_parallel: int = 1,
    expert_parallel: int = 1,
    engine: str = "vllm",
    batch: int = 1,
    prompt_tokens: float = 1000,
    output_tokens: float = 300,
    dp_attention: bool = False,
    max_num_batched_tokens: int = 8192,
    max_running: int | None = None,
    speculation: Speculation | None = None,
    efficiency: ServingEfficiency | None = None,
    scheduler: SchedulerPolicy = DEFAULT_SCHEDULER,
) -> ServingPoint | None:
    """One closed-loop point for one candidate layout; None when the GPU's speed is unknown
    (no bandwidth or FLOPS figure). Layout validity and memory fit are the caller's (see
    `engine.inference.layout_problems` and `engine.memory.inference_memory`)."""
    p = replica_profile(spec, gpu, weights, kv_cache, tensor_parallel, expert_parallel, engine, dp_attention, efficiency)
    if not p.known:
        return None
    return closed_loop(p, batch, prompt_tokens, output_tokens, max_num_batched_tokens, max_running, speculation,
                       scheduler=scheduler)
