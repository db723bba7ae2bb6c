"""plan(): the one entry every face calls. Resolved inputs in, one immutable Plan out.

Warnings are data (`PlanWarning`), never printed. `Plan.to_dict()` is the JSON report contract
of DESIGN section 3; all sizes in GiB (2^30 bytes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .cost import PriceChoice, choose_price, cost_per_million_tokens
from .hardware import GIB
from .inference import InferenceEstimate, estimate_inference, layout_problems
from .inputs import PlanInputs
from .memory import MemoryBreakdown, inference_memory, kv_dtype_bytes
from .model import ParamCounts, check_parallelism, count_params, kv_footprint
from .plan_checks import plan_checks
from .physical import HOURS_PER_MONTH, NodePower, Physical, node_power, physical
from .scenarios import ScenarioSizing, size_scenario
from .internode import internode_message, plan_traffic
from .serving_advice import network_volume, scaling_advice

if TYPE_CHECKING:  # imported where used: a plan that fits and has no [training] needs neither
    from .advice import Suggestion
    from .training import TrainingEstimate, WhatIfRow

Severity = Literal["info", "warning", "error"]
REPORT_VERSION = 1


@dataclass(frozen=True, slots=True)
class PlanWarning:
    code: str
    severity: Severity
    message: str
    field: str = ""  # the session field it concerns, for the UI to mark


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    sizing: ScenarioSizing | None
    physical: Physical | None
    cost_per_hour: float | None
    cost_per_month: float | None
    cost_per_million_tokens: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    inputs: PlanInputs
    params: ParamCounts
    max_model_len: int
    memory: MemoryBreakdown
    inference: InferenceEstimate
    node: NodePower
    price: PriceChoice
    scenarios: dict[str, ScenarioPlan]
    training: TrainingEstimate | None
    warnings: tuple[PlanWarning, ...]
    training_price: PriceChoice | None = None  # the training GPU's price (None: no [training])
    training_what_if: tuple[WhatIfRow, ...] = ()  # methods x ZeRO stages, ranked by cost
    advice: tuple[Suggestion, ...] = ()  # what would fit, cheapest first (a plan that does not fit)

    @property
    def fits(self) -> bool:
        return self.memory.fits

    def to_dict(self) -> dict[str, Any]:
        return report_dict(self)


def _resolve_context(inputs: PlanInputs, warnings: list[PlanWarning]) -> int:
    spec, serving = inputs.model, inputs.serving
    limit = spec.max_context
    wanted = serving.max_model_len
    if wanted is None:
        if limit is None:
            warnings.append(
                PlanWarning("context-unknown", "warning", "the model config gives no context limit; "
                            "assuming 4,096 tokens: set serving.max_model_len", "serving.max_model_len")
            )
            return 4096
        return limit
    if limit is not None and wanted > limit:
        warnings.append(
            PlanWarning("context-clamped", "warning",
                        f"max_model_len {wanted:,} exceeds {spec.label}'s limit of {limit:,} tokens; "
                        f"clamped to {limit:,}", "serving.max_model_len")
        )
        return limit
    return wanted


def plan(inputs: PlanInputs) -> Plan:
    spec, gpu, serving = inputs.model, inputs.gpu, inputs.serving
    tp, pp = inputs.tensor_parallel, inputs.pipeline_parallel
    warnings: list[PlanWarning] = []
    params = count_params(spec)
    max_len = _resolve_context(inputs, warnings)

    memory = inference_memory(
        spec, gpu, serving, weights=inputs.weights, kv_cache=inputs.kv_cache,
        tensor_parallel=tp, pipeline_parallel=pp, max_model_len=max_len, params=params,
    )
    layout_problems = check_parallelism(spec, tp, pp)
    for problem in layout_problems:
        warnings.append(PlanWarning("parallelism", "error", problem, "hardware.tensor_parallel"))
    engine_refusals = layout_problems_for(inputs)
    for problem in engine_refusals:
        warnings.append(PlanWarning("layout-refused", "error", problem, "hardware.expert_parallel"
                                    if "expert" in problem else "hardware.tensor_parallel"))
    layout_problems = layout_problems + engine_refusals
    if layout_problems and memory.fits:
        memory = _refuse(memory, "; ".join(layout_problems))
    if not memory.fits:
        warnings.append(PlanWarning("does-not-fit", "error", f"does not fit: {memory.reason}", "hardware.gpu"))
    _serving_warnings(inputs, memory, max_len, warnings)

    inference = estimate_inference(spec, params, memory, gpu, serving, inputs.weights, tp,
                                   kv_cache=inputs.kv_cache, expert_parallel=inputs.expert_parallel,
                                   dp_attention=inputs.dp_attention, pipeline_parallel=pp)
    for note in inference.sla_notes:
        warnings.append(PlanWarning("sla", "warning", note, "serving.sla"))
    if not inference.known and memory.fits:
        warnings.append(PlanWarning("speed-unknown", "info", inference.reason))

    gpn = inputs.node_gpus
    node = node_power(gpu, inputs.server, gpn, inputs.costs)
    if node.kw is None:
        warnings.append(PlanWarning("power-unknown", "warning", f"power {node.basis}", "hardware.server"))
    price = choose_price(inputs.costs, inputs.prices, gpu_kw=node.kw / gpn if node.kw else None)
    if price.per_gpu_hour is None:
        warnings.append(PlanWarning("price-unknown", "info", price.basis, "costs.price_per_gpu_hour"))
    if tp * pp > gpn:
        warnings.append(PlanWarning("replica-spans-nodes", "warning",
                                    f"one replica needs {tp * pp} GPUs, more than the {gpn} of a node: "
                                    "plan for a fast inter-node fabric", "hardware.tensor_parallel"))
    traffic = plan_traffic(inputs, inference)
    if traffic is not None:
        severity, message = internode_message(traffic, inputs.server.label if inputs.server else "this server")
        warnings.append(PlanWarning("internode-network", severity, message, "hardware.server"))

    scenarios = {}
    for name, knobs in inputs.scenarios.items():
        sizing = size_scenario(name, knobs, memory, serving.concurrent_sessions, serving.max_num_seqs, gpn,
                               requests_per_second=serving.requests_per_second,
                               requests_per_s_replica=inference.requests_per_s_replica,
                               batch_limit=_batch_limit(serving, inference))
        if sizing is None:
            scenarios[name] = ScenarioPlan(None, None, None, None, None)
            continue
        phys = physical(sizing.nodes, node, inputs.costs)
        per_hour = sizing.gpus_provisioned * price.per_gpu_hour if price.per_gpu_hour is not None else None
        per_mtok = cost_per_million_tokens(per_hour, _served_tokens_per_s(serving, inference, sizing.replicas))
        scenarios[name] = ScenarioPlan(
            sizing=sizing,
            physical=phys,
            cost_per_hour=per_hour,
            cost_per_month=per_hour * HOURS_PER_MONTH if per_hour is not None else None,
            cost_per_million_tokens=per_mtok,
        )

    training, training_price, what_if_rows = _training(inputs, params, price, warnings)
    for code, severity, message, field_path in plan_checks(inputs, price, training_price, inference):
        warnings.append(PlanWarning(code, severity, message, field_path))
    return Plan(
        inputs=inputs, params=params, max_model_len=max_len, memory=memory, inference=inference,
        node=node, price=price, scenarios=scenarios, training=training, warnings=tuple(warnings),
        training_price=training_price, training_what_if=what_if_rows,
        advice=_advise(inputs, params) if not memory.fits else (),
    )


def _advise(inputs: PlanInputs, params: ParamCounts) -> tuple[Suggestion, ...]:
    from .advice import advise

    return advise(inputs, params)


def _batch_limit(serving, inference: InferenceEstimate) -> int | None:
    """Sessions a replica may hold beyond the KV cap: the SLA's (or the pinned) batch; with no
    SLA the memory alone decides."""
    if not inference.known:
        return None
    if getattr(serving, "batch", None) or serving.ttft_ms is not None or serving.itl_ms is not None:
        return inference.batch
    return None


def layout_problems_for(inputs: PlanInputs) -> list[str]:
    """The layouts serving engines refuse (expert parallelism, FP8 blocks under TP)."""
    return layout_problems(inputs.model, inputs.weights, inputs.tensor_parallel, inputs.expert_parallel,
                           inputs.dp_attention)
def _training(inputs: PlanInputs, params: ParamCounts, price: PriceChoice, warnings: list[PlanWarning]):
    """The training run on its own GPU ([training] gpu, else [hardware]'s), priced from the
    session or that GPU's catalog prices."""
    t = inputs.training
    if t is None:
        return None, None, ()
    from .training import estimate_training, what_if

    gpu = inputs.training_gpu or inputs.gpu
    if inputs.training_gpu is not None and inputs.training_gpu.id != inputs.gpu.id:
        price = choose_price(replace(inputs.costs, price_per_gpu_hour=None), inputs.training_prices)
    gpn = inputs.node_gpus if inputs.training_gpu is None else 8
    training = estimate_training(inputs.model, params, gpu, t, price.per_gpu_hour, gpn)
    if not training.fits:
        warnings.append(PlanWarning("training-does-not-fit", "warning", f"training {training.reason}", "training"))
    for note in training.notes:
        warnings.append(PlanWarning("training", "info", f"training: {note}", "training"))
    rows = what_if(inputs.model, params, gpu, t, price.per_gpu_hour, gpn)
    return training, price, rows


def _served_tokens_per_s(serving, inference: InferenceEstimate, replicas: int) -> float | None:
    """Output tokens/s the fleet actually produces: the stated demand (requests/s x output
    tokens), capped by what its replicas can decode. Cost per token is cost at that rate."""
    capacity = (inference.tokens_per_s_replica or 0.0) * replicas
    demand = serving.requests_per_second * serving.output_tokens
    served = min(demand, capacity) if demand > 0 else capacity
    return served or None


def _refuse(memory: MemoryBreakdown, reason: str) -> MemoryBreakdown:
    return replace(memory, fits=False, reason=reason, sessions_per_replica=0, sessions_kv_limited=0)


def _serving_warnings(inputs: PlanInputs, memory: MemoryBreakdown, max_len: int, warnings: list[PlanWarning]) -> None:
    serving, gpu, spec = inputs.serving, inputs.gpu, inputs.model
    if memory.session_tokens > max_len:
        warnings.append(PlanWarning("session-exceeds-context", "warning",
                                    f"prompt + output ({memory.session_tokens:,} tokens) exceed max_model_len "
                                    f"{max_len:,}: requests will be rejected", "serving.prompt_tokens"))
    if memory.fits and memory.sessions_kv_limited > serving.max_num_seqs:
        warnings.append(PlanWarning("max-num-seqs", "info",
                                    f"the KV pool holds {memory.sessions_kv_limited:,} average sessions per replica "
                                    f"but max_num_seqs caps a replica at {serving.max_num_seqs}",
                                    "serving.max_num_seqs"))
    if serving.engine == "sglang":
        outside = memory.gpu_total_bytes * (1 - serving.memory_fraction)
        if outside < memory.activation_bytes:
            warnings.append(PlanWarning("sglang-activation", "warning",
                                        f"SGLang keeps activations outside mem_fraction_static: "
                                        f"{outside / GIB:.2f} GiB left for a {memory.activation_bytes / GIB:.2f} GiB "
                                        "activation peak risks out-of-memory at full batch",
                                        "serving.memory_fraction"))
    if inputs.weights == "fp8" and not gpu.fp8_tflops:
        warnings.append(PlanWarning("fp8-emulated", "info",
                                    f"{gpu.label} has no FP8 tensor cores: engines run FP8 weights as "
                                    "weight-only (Marlin), at 16-bit compute speed", "model.weights"))
    if spec.sliding_window and any(k == "sliding" for k in spec.kinds):
        warnings.append(PlanWarning("sliding-window", "info",
                                    f"{sum(k == 'sliding' for k in spec.kinds)} of {spec.num_layers} layers keep "
                                    f"only the last {spec.sliding_window:,} tokens; concurrency assumes the "
                                    "engine frees blocks outside the window (vLLM V1 hybrid allocator)"))
    if serving.max_num_batched_tokens < max_len and serving.engine == "vllm":
        warnings.append(PlanWarning("chunked-prefill", "info",
                                    f"max_num_batched_tokens {serving.max_num_batched_tokens:,} < max_model_len "
                                    f"{max_len:,}: long prompts are prefilled in chunks",
                                    "serving.max_num_batched_tokens"))


def _gib(value: float | None) -> float | None:
    return None if value is None else round(value / GIB, 4)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def inference_report(p: Plan) -> dict[str, Any]:
    """The issue-13 fields of the `inference` block: per replica and per GPU figures at the chosen
    batch, replicas for the traffic (recommended scenario), cost per million input and output
    tokens at that batch (the replica's GPU-hours split between prompt and generated tokens by the
    share of its time each takes), and the curve."""
    inf, i = p.inference, p.inputs
    rec = p.scenarios.get("recommended") or next(iter(p.scenarios.values()), None)
    replicas = rec.sizing.replicas if rec and rec.sizing else None
    price = p.price.per_gpu_hour
    replica_hour = price * inf.gpus_per_replica if price is not None and inf.known else None
    per_in = per_out = None
    if replica_hour is not None and inf.requests_per_s_replica:
        in_tps = inf.requests_per_s_replica * i.serving.prompt_tokens
        out_tps = inf.tokens_per_s_replica or 0.0
        per_in = cost_per_million_tokens(replica_hour * inf.prefill_share, in_tps) if inf.prefill_share > 0 else 0.0
        per_out = cost_per_million_tokens(replica_hour * (1 - inf.prefill_share), out_tps)
    return {
        "e2e_ms": _r(inf.e2e_ms, 1),
        "tokens_per_s_per_user": _r(inf.tokens_per_s_per_user, 2),
        "output_tokens_per_s": _r(inf.tokens_per_s_replica, 1),
        "output_tokens_per_s_per_gpu": _r(inf.output_tokens_per_s_per_gpu, 1),
        "total_tokens_per_s_per_gpu": _r(inf.total_tokens_per_s_per_gpu, 1),
        "requests_per_s": _r(inf.requests_per_s_replica, 3),
        "replicas": replicas,
        "sla_ttft_ms": i.serving.ttft_ms,
        "sla_itl_ms": i.serving.itl_ms,
        "binding_constraint": inf.binding_constraint or None,
        "binding_reason": inf.binding_reason or None,
        "running_sequences": inf.running if inf.known else None,
        "max_running_sequences": inf.max_running if inf.known else None,
        "decode_bound": inf.decode_bound or None,
        "gpus_per_replica": inf.gpus_per_replica,
        "expert_parallel": i.expert_parallel,
        "data_parallel_attention": i.dp_attention,
        "speculative_tokens_per_step": _r(inf.speculative_tokens_per_step, 3),
        "cost_per_replica_hour": _r(replica_hour, 3),
        "cost_per_million_input_tokens": _r(per_in, 4),
        "cost_per_million_output_tokens": _r(per_out, 4),
        "scaling": _scaling(p, replicas),
        "network": _network(p),
        "internode": _internode(p),
        "curve": [
            {"batch": c.batch, "ttft_ms": _r(c.ttft_ms, 1), "itl_ms": _r(c.tpot_ms, 2), "e2e_ms": _r(c.e2e_ms, 1),
             "tokens_per_s_per_user": _r(c.tokens_per_s_per_user, 2),
             "output_tokens_per_s_per_gpu": _r(c.output_tokens_per_s / inf.gpus_per_replica, 1),
             "requests_per_s": _r(c.requests_per_s, 3)}
            for c in inf.curve
        ],
    }


def _scaling(p: Plan, replicas: int | None) -> dict[str, Any] | None:
    inf = p.inference
    if not inf.known:
        return None
    lo, hi = p.scenarios.get("minimum"), p.scenarios.get("ideal")
    a = scaling_advice(inf.batch, inf.max_running, inf.tokens_per_s_replica or 0.0,
                       lo.sizing.replicas if lo and lo.sizing else None,
                       hi.sizing.replicas if hi and hi.sizing else replicas)
    return {
        "min_replicas": a.min_replicas, "max_replicas": a.max_replicas,
        "hpa_metric": "vllm:num_requests_running", "target_running_per_replica": a.target_running_per_replica,
        "scale_out_when_waiting_above": a.scale_out_waiting, "scale_out_when_kv_usage_above": a.scale_out_kv_usage,
        "target_output_tokens_per_s_per_replica": _r(a.target_output_tokens_per_s_per_replica, 1),
    }


def _internode(p: Plan) -> dict[str, Any] | None:
    t = plan_traffic(p.inputs, p.inference)
    if t is None:
        return None
    return {"servers": t.servers, "bytes_per_token": round(t.bytes_per_token), "required_gbps": _r(t.required_gbps, 1),
            "available_gbps": t.available_gbps, "load": _r(t.load, 3), "carried": t.carried, "collectives": list(t.parts)}


def _network(p: Plan) -> dict[str, Any] | None:
    inf, s = p.inference, p.inputs.serving
    if not inf.known or not inf.requests_per_s_replica:
        return None
    n = network_volume(s.prompt_tokens, s.output_tokens, inf.requests_per_s_replica,
                       s.requests_per_second if s.requests_per_second > 0 else None)
    return {
        "bytes_in_per_request": round(n.bytes_in_per_request), "bytes_out_per_request": round(n.bytes_out_per_request),
        "replica_in_mbps": _r(n.replica_in_mbps, 3), "replica_out_mbps": _r(n.replica_out_mbps, 3),
        "fleet_in_mbps": _r(n.fleet_in_mbps, 3), "fleet_out_mbps": _r(n.fleet_out_mbps, 3),
    }


def report_dict(p: Plan) -> dict[str, Any]:
    m, i = p.memory, p.inputs
    scen = {}
    for name, s in p.scenarios.items():
        z, ph = s.sizing, s.physical
        scen[name] = {
            "kv_share": i.scenarios[name].kv_share,
            "headroom": i.scenarios[name].headroom,
            "redundancy": i.scenarios[name].redundancy,
            "nodes": z.nodes if z else None,
            "gpus": z.gpus if z else None,
            "gpus_provisioned": z.gpus_provisioned if z else None,
            "replicas_for_sessions": z.replicas_for_sessions if z else None,
            "replicas_for_rate": z.replicas_for_rate if z else None,
            "sized_by": z.driver if z else None,
            "replicas": z.replicas if z else None,
            "sessions_per_replica": z.sessions_per_replica if z else None,
            "sessions_capacity": z.sessions_capacity if z else None,
            "demand_sessions": _r(z.demand_sessions, 1) if z else None,
            "power_kw": _r(ph.power_kw, 2) if ph else None,
            "rack_units": ph.rack_units if ph else None,
            "racks": ph.racks if ph else None,
            "heat_btu_hr": _r(ph.heat_btu_hr, 0) if ph else None,
            "energy_kwh_month": _r(ph.energy_kwh_month, 0) if ph else None,
            "energy_cost_month": _r(ph.energy_cost_month, 2) if ph else None,
            "cost_per_hour": _r(s.cost_per_hour, 2),
            "cost_per_month": _r(s.cost_per_month, 0),
            "cost_per_million_tokens": _r(s.cost_per_million_tokens, 4),
        }
    inf = p.inference
    tr = p.training
    return {
        "report_version": REPORT_VERSION,
        "units": {"memory": "GiB (2^30 bytes)", "power": "kW", "heat": "BTU/h", "cost": "USD"},
        "name": i.name,
        "model": {
            "id": i.model.id,
            "name": i.model.label,
            "family": i.model.family,
            "params_total": p.params.total,
            "params_active": p.params.active,
            "kv_bytes_per_token": kv_footprint(i.model, kv_dtype_bytes(i.model, i.kv_cache, i.weights)).bytes_per_token,
            "max_context": i.model.max_context,
            "weights": i.weights,
            "kv_cache": i.kv_cache,
        },
        "hardware": {
            "gpu": i.gpu.id,
            "gpu_name": i.gpu.label,
            "server": i.server.id if i.server else None,
            "gpus_per_node": i.node_gpus,
            "tensor_parallel": i.tensor_parallel,
            "pipeline_parallel": i.pipeline_parallel,
        },
        "memory": {
            "engine": i.serving.engine,
            "memory_fraction": i.serving.memory_fraction,
            "gpu_total_gib": _gib(m.gpu_total_bytes),
            "budget_gib": _gib(m.budget_bytes),
            "weights_gib": _gib(m.weights_bytes),
            "activation_gib": _gib(m.activation_bytes),
            "overhead_gib": _gib(m.overhead_bytes),
            "kv_pool_gib": _gib(m.kv_pool_bytes),
            "kv_bytes_per_token": m.kv.bytes_per_token,
            "block_tokens": m.block_tokens,
            "kv_capacity_tokens": m.kv_capacity_tokens,
            "max_model_len": m.max_model_len,
            "max_concurrency": _r(m.max_concurrency, 2),
            "session_tokens": m.session_tokens,
            "sessions_per_replica": m.sessions_per_replica,
            "sessions_per_gpu": _r(m.sessions_per_gpu, 2),
            "fits": m.fits,
            "reason": m.reason,
        },
        "scenarios": scen,
        "physical": {
            "node_power_kw": _r(p.node.kw, 2),
            "node_power_basis": p.node.basis,
            "node_rack_units": p.node.rack_units,
            "node_rack_units_basis": p.node.rack_units_basis,
        },
        "cost": {"price_per_gpu_hour": p.price.per_gpu_hour, "price_basis": p.price.basis,
                 "price_expired": p.price.expired,
                 "cost_counts": "gpus_provisioned"},  # whole nodes: every GPU of a node is paid for
        "inference": {
            "known": inf.known,
            "reason": inf.reason,
            "ttft_ms": _r(inf.ttft_ms, 1),
            "itl_ms_bs1": _r(inf.itl_ms_bs1, 2),
            "batch": inf.batch,
            "itl_ms": _r(inf.itl_ms, 2),
            "tokens_per_s_replica": _r(inf.tokens_per_s_replica, 1),
            "requests_per_s_replica": _r(inf.requests_per_s_replica, 3),
            "meets_sla": inf.meets_sla,
            **inference_report(p),
        },
        "training": None if tr is None else training_dict(p),
        "warnings": [
            {"code": w.code, "severity": w.severity, "message": w.message, "field": w.field} for w in p.warnings
        ],
        "advice": _advice_dicts(p.advice),
    }


def _advice_dicts(advice: tuple[Suggestion, ...]) -> list[dict[str, Any]]:
    if not advice:
        return []
    from .advice import advice_dict

    return [advice_dict(a) for a in advice]


def training_dict(p: Plan) -> dict[str, Any]:
    """The JSON `training` block (DESIGN section 3): per-GPU memory at the peak with its
    breakdown, fits and why, the largest micro-batch and sequence that fit, speed, duration,
    GPUs, GPU-hours and cost; plus the what-if table. GiB = 2^30 bytes."""
    tr, t = p.training, p.inputs.training
    assert tr is not None and t is not None
    return {
        "method": t.method,
        "gpu": tr.gpu_id,
        "trainable_params": tr.trainable_params,
        "memory_per_gpu_gib": _r(tr.total_gib),
        "gpu_memory_gib": _r(tr.gpu_gib),
        "breakdown_gib": {k: _r(v) for k, v in (tr.breakdown_gib or {}).items()},
        "peak_phase": tr.peak_phase,
        "fits": tr.fits,
        "reason": tr.reason,
        "max_micro_batch": tr.max_micro_batch,
        "max_sequence_length": tr.max_sequence_length,
        "tokens_per_s_per_gpu": _r(tr.tokens_per_s_per_gpu, 1),
        "step_time_s": _r(tr.step_time_s, 3),
        "mfu": _r(tr.mfu, 4),
        "mfu_source": tr.mfu_source,
        "duration_hours": _r(tr.hours, 2),
        "gpus": tr.gpus,
        "gpus_chosen_by_planner": tr.gpus_chosen,
        "data_parallel": tr.data_parallel,
        "gpu_hours": _r(tr.gpu_hours, 1),
        "cost": _r(tr.cost, 2),
        "price_per_gpu_hour": p.training_price.per_gpu_hour if p.training_price else None,
        "price_basis": p.training_price.basis if p.training_price else None,
        "deadline_hours": t.deadline_hours,
        "meets_deadline": tr.meets_deadline,
        "tokens": tr.tokens,
        "flops": tr.flops,
        "notes": list(tr.notes),
        "what_if": [
            {"method": r.method, "zero_stage": r.zero_stage, "gpus": r.gpus, "memory_per_gpu_gib": r.memory_per_gpu_gib,
             "fits": r.fits, "duration_hours": _r(r.duration_hours, 2), "gpu_hours": _r(r.gpu_hours, 1),
             "cost": _r(r.cost, 2)}
            for r in p.training_what_if
        ],
        # the first estimate's keys, kept for readers of report_version 1
        "weights_gib": _r(tr.weights_gib), "gradients_gib": _r(tr.gradients_gib),
        "optimizer_gib": _r(tr.optimizer_gib), "activations_gib": _r(tr.activations_gib),
        "overhead_gib": _r(tr.overhead_gib), "total_gib": _r(tr.total_gib),
        "hours": _r(tr.hours, 2),
    }
