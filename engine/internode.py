"""Whether the network between servers can carry a replica that spans them.

When tensor x pipeline parallelism needs more GPUs than one server holds, some of the step's
collectives leave the server over its NICs instead of NVLink / Infinity Fabric. Per token a
server then sends, in the bandwidth-optimal (hierarchical) algorithms NCCL and RCCL use:

- tensor parallelism over N servers: each all-reduce of an M-byte activation moves 2 (N-1)/N M
  across each server's boundary (reduce-scatter inside the server, an all-reduce of the 1/g
  shards across servers, all-gather inside; Patarasuk & Yuan 2009 for the ring bound; Megatron-LM,
  Shoeybi et al. 2019, sec. 3, for two all-reduces per layer);
- expert-parallel all-to-all over N servers: (N-1)/N of each dispatch (FP8) and combine (BF16)
  goes off-server (DeepSeek-V3 report sec. 3.4);
- pipeline parallelism: one activation (hidden x 2 bytes per token) per stage boundary that falls
  between servers.

The bytes per second a server must send are those bytes per token times the tokens per second the
replica processes (prompt and output); against the server's network (catalog `network_gbps`, all
compute NICs together) that is the network's load. The speed figures assume the collectives run at
NVLink speed, so a load near or above 1 means the plan cannot be met as computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ACTIVATION_BYTES = 2.0  # bf16 activations
DISPATCH_COMBINE_BYTES = 1.5  # mean of an FP8 dispatch and a BF16 combine, per element
EXPOSED_LOAD = 0.25  # above this share of the time on the network, collectives stop hiding


@dataclass(frozen=True, slots=True)
class InternodeTraffic:
    servers: int  # servers one replica spans
    bytes_per_token: float  # leaving each server, per token the replica processes
    required_gbps: float  # per server, at the planned tokens/s
    available_gbps: float | None  # the server's network (None: not in the catalog)
    load: float | None  # required / available
    parts: tuple[str, ...]  # which collectives cross servers

    @property
    def carried(self) -> bool | None:
        return None if self.load is None else self.load < 1.0


def internode_traffic(
    *,
    hidden_size: int,
    num_layers: int,
    moe_layers: int,
    experts_per_token: int,
    tensor_parallel: int,
    pipeline_parallel: int,
    expert_parallel: int,
    dp_attention: bool,
    gpus_per_node: int,
    tokens_per_s: float,
    network_gbps: float | None,
) -> InternodeTraffic | None:
    """The traffic leaving each server of a replica, or None when the replica fits in one server."""
    tp, pp, ep, gpn = max(1, tensor_parallel), max(1, pipeline_parallel), max(1, expert_parallel), max(1, gpus_per_node)
    if tp * pp <= gpn:
        return None
    per_token = 0.0
    parts: list[str] = []
    tp_servers = math.ceil(tp / gpn)
    a2a = moe_layers > 0 and ep > 1 and dp_attention
    if tp_servers > 1:
        f = (tp_servers - 1) / tp_servers
        allreduces = 2 * ((num_layers - moe_layers) if a2a else num_layers)
        if allreduces:
            # Under data-parallel attention each token's all-reduce runs on its own rank's share.
            share = 1.0 / tp if dp_attention else 1.0
            per_token += allreduces * 2 * f * hidden_size * ACTIVATION_BYTES * share
            parts.append(f"tensor-parallel all-reduces over {tp_servers} servers")
        if a2a:
            ep_servers = math.ceil(ep / gpn)
            g = (ep_servers - 1) / ep_servers if ep_servers > 1 else 0.0
            if g:
                # Each token's k expert copies go out and come back: 2 all-to-alls per MoE layer.
                per_token += 2 * moe_layers * experts_per_token * hidden_size * DISPATCH_COMBINE_BYTES * g
                parts.append(f"expert-parallel all-to-alls over {ep_servers} servers")
    stages_per_server = max(1, gpn // tp) if tp <= gpn else 0
    if pp > 1:
        # Stage boundaries between servers: every boundary when a stage fills a server or more,
        # else one in `stages_per_server`.
        crossing = (pp - 1) if stages_per_server <= 1 else (pp - 1) // stages_per_server
        if crossing:
            per_token += hidden_size * ACTIVATION_BYTES * crossing / max(1, math.ceil(tp * pp / gpn))
            parts.append(f"pipeline activations across {crossing} server boundaries")
    servers = math.ceil(tp * pp / gpn)
    required = per_token * max(tokens_per_s, 0.0) * 8 / 1e9
    load = required / network_gbps if network_gbps else None
    return InternodeTraffic(servers, per_token, required, network_gbps, load, tuple(parts))


def plan_traffic(inputs, inference) -> InternodeTraffic | None:
    """The traffic of a plan's replica at its chosen point (engine.plan calls this)."""
    if not inference.known or not inference.requests_per_s_replica:
        return None
    spec, s = inputs.model, inputs.serving
    server = inputs.server
    return internode_traffic(
        hidden_size=spec.hidden_size, num_layers=spec.num_layers,
        moe_layers=sum(spec.moe_layers) if spec.moe_layers else 0, experts_per_token=spec.experts_per_token,
        tensor_parallel=inputs.tensor_parallel, pipeline_parallel=inputs.pipeline_parallel,
        expert_parallel=inputs.expert_parallel, dp_attention=inputs.dp_attention, gpus_per_node=inputs.node_gpus,
        tokens_per_s=inference.requests_per_s_replica * (s.prompt_tokens + s.output_tokens),
        network_gbps=server.network_gbps if server is not None else None,
    )


def internode_message(t: InternodeTraffic, server_label: str) -> tuple[str, str]:
    """(severity, message) of the plan warning for this traffic."""
    what = "; ".join(t.parts) or "collectives"
    need = f"{t.bytes_per_token / 1e3:.1f} kB per token, {t.required_gbps:,.0f} Gb/s per server at the planned load"
    if t.available_gbps is None:
        return ("warning", f"the replica spans {t.servers} servers ({what}): it needs {need}, and the network of "
                           f"{server_label} is not in the catalog; check it can carry that")
    pct = 100 * (t.load or 0.0)
    if t.load is not None and t.load >= 1.0:
        return ("warning", f"the replica spans {t.servers} servers ({what}): it needs {need}, {pct:.0f} % of the "
                           f"{t.available_gbps:,.0f} Gb/s of {server_label}; the network cannot carry it, so the "
                           f"replica runs at most {100 / t.load:.0f} % of the planned rate")
    if t.load is not None and t.load >= EXPOSED_LOAD:
        return ("info", f"the replica spans {t.servers} servers ({what}): it needs {need}, {pct:.0f} % of the "
                        f"{t.available_gbps:,.0f} Gb/s of {server_label}; collectives this slow are not in the "
                        f"speed figures")
    return ("info", f"the replica spans {t.servers} servers ({what}): {need}, {pct:.0f} % of the "
                    f"{t.available_gbps:,.0f} Gb/s of {server_label}")
