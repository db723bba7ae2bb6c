"""Minimum / recommended / ideal: how many replicas, GPUs and nodes serve the demand.

A replica is one model instance spanning tensor_parallel x pipeline_parallel GPUs. Replicas are
packed into nodes without splitting a replica across nodes unless it is larger than a node.
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
    sessions_capacity: int

    @property
    def spare_sessions(self) -> int:
        return self.sessions_capacity - math.ceil(self.demand_sessions)


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
) -> ScenarioSizing | None:
    """None when the model does not fit: there is nothing to multiply."""
    if not memory.fits or memory.sessions_kv_limited <= 0:
        return None
    planned = min(int(memory.sessions_kv_limited * knobs.kv_share), max_num_seqs)
    planned = max(planned, 1)
    demand = concurrent_sessions * (1.0 + knobs.headroom)
    needed = max(math.ceil(demand / planned), min_replicas_for_rate, 1)
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
        sessions_capacity=replicas * planned,
    )
