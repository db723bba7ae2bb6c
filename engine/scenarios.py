"""Minimum / recommended / ideal: how many replicas, GPUs and nodes serve the demand.

A replica is one model instance spanning tensor_parallel x pipeline_parallel GPUs. Replicas are
packed into nodes without splitting a replica across nodes unless it is larger than a node.

Each scenario sizes for the larger of two needs, both with the scenario's headroom:
- sessions: concurrent sessions x (1 + headroom) over the sessions one replica is planned to
  hold (its KV-limited sessions x kv_share, never more than max_num_seqs or the batch the SLA
  allows);
- rate: requests/s x (1 + headroom) over the requests/s one replica serves at its chosen batch;
then adds `redundancy` replicas (N+k). `sessions_capacity` is what the replicas hold at full
KV (the kv_share margin is planning slack, not lost capacity), so with headroom and redundancy
growing and kv_share shrinking from one scenario to the next, a larger scenario never has fewer
replicas nor less capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .inputs import ScenarioKnobs
from .memory import MemoryBreakdown


@dataclass(frozen=True, slots=True)
class ScenarioSizing:
    name: str
    knobs: ScenarioKnobs
    sessions_per_replica: int  # planned, after kv_share
    demand_sessions: float  # concurrent sessions after headroom
    replicas_needed: int  # before redundancy
    replicas: int
    gpus: int  # GPUs the replicas occupy
    nodes: int
    gpus_provisioned: int  # whole nodes
    sessions_capacity: int  # replicas x sessions per replica at full KV
    replicas_for_sessions: int = 0
    replicas_for_rate: int = 0
    demand_requests_per_s: float = 0.0  # after headroom

    @property
    def spare_sessions(self) -> int:
        return self.sessions_capacity - math.ceil(self.demand_sessions)

    @property
    def driver(self) -> str:
        """What sets the replica count: 'sessions' or 'rate'."""
        return "rate" if self.replicas_for_rate > self.replicas_for_sessions else "sessions"


def nodes_for(replicas: int, gpus_per_replica: int, gpus_per_node: int) -> int:
    if replicas <= 0:
        return 0
    if gpus_per_replica <= gpus_per_node:
        per_node = gpus_per_node // gpus_per_replica
        return math.ceil(replicas / per_node)
    return replicas * math.ceil(gpus_per_replica / gpus_per_node)


def size_scenario(
    name: str,
    knobs: ScenarioKnobs,
    memory: MemoryBreakdown,
    concurrent_sessions: int,
    max_num_seqs: int,
    gpus_per_node: int,
    min_replicas_for_rate: int = 0,
    *,
    requests_per_second: float = 0.0,
    requests_per_s_replica: float | None = None,
    batch_limit: int | None = None,
) -> ScenarioSizing | None:
    """None when the model does not fit: there is nothing to multiply.

    `requests_per_second` / `requests_per_s_replica` size for the rate with headroom;
    `min_replicas_for_rate` is a floor computed by the caller (kept for callers that have only
    that). `batch_limit` caps the sessions a replica is planned for (the SLA batch)."""
    if not memory.fits or memory.sessions_kv_limited <= 0:
        return None
    physical = min(memory.sessions_kv_limited, max_num_seqs)
    if batch_limit:
        physical = min(physical, batch_limit)
    physical = max(physical, 1)
    planned = max(min(int(memory.sessions_kv_limited * knobs.kv_share), physical), 1)
    demand = concurrent_sessions * (1.0 + knobs.headroom)
    for_sessions = math.ceil(demand / planned)
    rate_demand = requests_per_second * (1.0 + knobs.headroom)
    for_rate = 0
    if requests_per_s_replica and requests_per_s_replica > 0 and rate_demand > 0:
        for_rate = math.ceil(rate_demand / requests_per_s_replica - 1e-9)
    needed = max(for_sessions, for_rate, min_replicas_for_rate, 1)
    replicas = needed + knobs.redundancy
    gpr = memory.gpus_per_replica
    nodes = nodes_for(replicas, gpr, gpus_per_node)
    return ScenarioSizing(
        name=name,
        knobs=knobs,
        sessions_per_replica=planned,
        demand_sessions=demand,
        replicas_needed=needed,
        replicas=replicas,
        gpus=replicas * gpr,
        nodes=nodes,
        gpus_provisioned=nodes * gpus_per_node,
        sessions_capacity=replicas * physical,
        replicas_for_sessions=for_sessions,
        replicas_for_rate=for_rate,
        demand_requests_per_s=rate_demand,
    )
