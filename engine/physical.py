"""Power, rack space and heat of a fleet of nodes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .hardware import GpuSpec, ServerSpec
from .inputs import CostInputs

BTU_PER_HOUR_PER_WATT = 3.412  # 1 W = 3.412 BTU/h (ASHRAE)
HOURS_PER_MONTH = 730.0  # 8760 h / 12
DEFAULT_RACK_UNITS = {1: 1, 2: 2, 4: 2, 8: 4}  # typical PCIe servers when no server is named


@dataclass(frozen=True, slots=True)
class NodePower:
    kw: float | None
    basis: str  # how the figure was obtained, shown next to it
    rack_units: int | None
    rack_units_basis: str


@dataclass(frozen=True, slots=True)
class Physical:
    power_kw: float | None
    rack_units: int | None
    racks: int | None
    heat_btu_hr: float | None
    energy_kwh_month: float | None
    energy_cost_month: float | None


def node_power(gpu: GpuSpec, server: ServerSpec | None, gpus_per_node: int, costs: CostInputs) -> NodePower:
    """Server nameplate maximum when the catalog knows it, else GPUs x TDP plus a host base load."""
    if server and server.max_power_kw:
        kw, basis = server.max_power_kw, f"{server.label} maximum input power"
    elif gpu.tdp_w:
        kw = gpus_per_node * gpu.tdp_w / 1000 + costs.host_base_kw
        basis = f"{gpus_per_node} x {gpu.tdp_w:.0f} W TDP + {costs.host_base_kw:g} kW host"
    else:
        kw, basis = None, f"unknown: no TDP for {gpu.label} and no server power"
    if server and server.rack_units:
        ru, ru_basis = server.rack_units, f"{server.label}"
    else:
        ru = DEFAULT_RACK_UNITS.get(gpus_per_node, max(1, math.ceil(gpus_per_node / 2)))
        ru_basis = f"assumed {ru}U for a {gpus_per_node}-GPU server"
    return NodePower(kw=kw, basis=basis, rack_units=ru, rack_units_basis=ru_basis)


def physical(nodes: int, node: NodePower, costs: CostInputs) -> Physical:
    kw = node.kw * nodes if node.kw is not None else None
    ru = node.rack_units * nodes if node.rack_units is not None else None
    racks = None
    if kw is not None and ru is not None and nodes:
        by_power = math.ceil(kw / costs.kw_per_rack)
        per_rack = max(1, min(costs.rack_units_per_rack // node.rack_units, int(costs.kw_per_rack // node.kw) or 1))
        racks = max(by_power, math.ceil(nodes / per_rack))
    elif nodes == 0:
        racks = 0
    heat = kw * 1000 * BTU_PER_HOUR_PER_WATT if kw is not None else None
    energy = kw * costs.pue * HOURS_PER_MONTH if kw is not None else None
    return Physical(
        power_kw=kw,
        rack_units=ru,
        racks=racks,
        heat_btu_hr=heat,
        energy_kwh_month=energy,
        energy_cost_month=energy * costs.energy_price_kwh if energy is not None else None,
    )
