"""Scaling advice and network volume for a serving plan: what an autoscaler and a network budget
need from the chosen operating point.

Autoscaling thresholds are in vLLM's own Prometheus metrics (vllm/engine/metrics.py:
`vllm:num_requests_running`, `vllm:num_requests_waiting`, `vllm:gpu_cache_usage_perc`,
`vllm:generation_tokens_total`), so a Kubernetes HPA (custom metrics) or a KEDA Prometheus scaler
can use them as they are. They come from where the SLA breaks on the curve: a replica is full at
the batch the SLA allows, so scale out before it gets there.

Network: an OpenAI-compatible request carries the prompt as text (about 4 bytes per token for
English with a BPE tokenizer) in a JSON body; a streamed response sends one server-sent event per
token, a `chat.completion.chunk` JSON object of roughly 150 bytes with its `data: ` framing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BYTES_PER_TEXT_TOKEN = 4.0  # English text per BPE token (OpenAI tokenizer rule of thumb: ~4 chars)
REQUEST_OVERHEAD_BYTES = 600.0  # HTTP headers + JSON envelope of a chat completion request
SSE_BYTES_PER_TOKEN = 150.0  # one streamed chat.completion.chunk event per token, framing included
RESPONSE_OVERHEAD_BYTES = 400.0  # headers, the final chunk with usage, `data: [DONE]`
SCALE_OUT_AT = 0.8  # scale out at 80 % of the SLA batch: one replica's start-up is not instant


@dataclass(frozen=True, slots=True)
class ScalingAdvice:
    min_replicas: int | None
    max_replicas: int | None
    target_running_per_replica: int  # vllm:num_requests_running average to hold
    scale_out_waiting: int  # vllm:num_requests_waiting above this (sustained) adds a replica
    scale_out_kv_usage: float  # vllm:gpu_cache_usage_perc above this adds a replica
    target_output_tokens_per_s_per_replica: float  # rate(vllm:generation_tokens_total) per replica


@dataclass(frozen=True, slots=True)
class NetworkVolume:
    bytes_in_per_request: float
    bytes_out_per_request: float  # streamed
    replica_in_mbps: float  # megabits/s at the chosen batch
    replica_out_mbps: float
    fleet_in_mbps: float | None
    fleet_out_mbps: float | None


def scaling_advice(batch: int, max_running: int, output_tokens_per_s: float,
                   min_replicas: int | None, max_replicas: int | None) -> ScalingAdvice:
    target = max(1, math.floor(batch * SCALE_OUT_AT))
    kv = min(0.95, SCALE_OUT_AT * batch / max_running) if max_running else 0.9
    return ScalingAdvice(
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_running_per_replica=target,
        scale_out_waiting=max(1, batch - target),
        scale_out_kv_usage=round(kv, 3),
        target_output_tokens_per_s_per_replica=output_tokens_per_s * SCALE_OUT_AT,
    )


def network_volume(prompt_tokens: int, output_tokens: int, requests_per_s_replica: float,
                   fleet_requests_per_s: float | None) -> NetworkVolume:
    b_in = REQUEST_OVERHEAD_BYTES + prompt_tokens * BYTES_PER_TEXT_TOKEN
    b_out = RESPONSE_OVERHEAD_BYTES + output_tokens * SSE_BYTES_PER_TOKEN
    mbps = lambda bytes_, rate: bytes_ * rate * 8 / 1e6  # noqa: E731
    return NetworkVolume(
        bytes_in_per_request=b_in,
        bytes_out_per_request=b_out,
        replica_in_mbps=mbps(b_in, requests_per_s_replica),
        replica_out_mbps=mbps(b_out, requests_per_s_replica),
        fleet_in_mbps=mbps(b_in, fleet_requests_per_s) if fleet_requests_per_s is not None else None,
        fleet_out_mbps=mbps(b_out, fleet_requests_per_s) if fleet_requests_per_s is not None else None,
    )
