"""Session (what the user wrote) -> engine.inputs.PlanInputs (what the engine computes with):
catalog ids become specs, inline tables become specs, scenario overrides merge with defaults,
prices for the chosen GPU are attached."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from engine.hardware import GpuSpec, PriceSpec, ServerSpec
from engine.inputs import (
    DEFAULT_SCENARIOS,
    CostInputs,
    PlanInputs,
    ServingInputs,
    SpeculativeInputs,
    TrainingInputs,
)
from engine.model import ModelConfigError, ModelSpec

from .errors import FieldProblem, SessionError
from .locate import Locator, parse_path
from .schema import GpuSpecSection, Session

T = TypeVar("T")
DEFAULT_GPUS_PER_NODE = PlanInputs.__dataclass_fields__["gpus_per_node"].default


class CatalogLike(Protocol):
    """What resolution needs of catalogs.loader.Catalog."""

    prices: Any  # Mapping[str, PriceSpec] (a sequence is accepted too)

    def model(self, id: str) -> ModelSpec: ...
    def gpu(self, id: str) -> GpuSpec: ...
    def server(self, id: str) -> ServerSpec: ...


def _lookup(get: Callable[[str], T], id: str, kind: str, field: str, catalog: Any) -> T:
    try:
        return get(id)
    except ModelConfigError as exc:
        raise FieldProblem(field, f"catalog model '{id}' cannot be sized: {exc}") from None
    except KeyError as exc:  # catalogs.loader.UnknownEntry
        raise FieldProblem(field, _unknown_message(exc, id, kind, catalog)) from None
    except ValueError as exc:  # a broken entry, e.g. in the user's catalog files
        raise FieldProblem(field, f"catalog {kind} '{id}' is unusable: {exc}") from None


def _unknown_message(exc: KeyError, id: str, kind: str, catalog: Any) -> str:
    if type(exc) is not KeyError and id in str(exc):
        return str(exc)  # the catalog's own message, with its suggestions
    known = getattr(catalog, kind + "s", None)  # catalog.models / .gpus / .servers, if exposed
    hint = difflib.get_close_matches(id, list(known), n=1) if isinstance(known, Mapping) else []
    return f"unknown {kind} '{id}'" + (f" (did you mean {hint[0]}?)" if hint else "")


def _prices(catalog: Any, gpu_id: str) -> tuple[PriceSpec, ...]:
    if callable(getattr(catalog, "prices_for", None)):
        return tuple(catalog.prices_for(gpu_id))
    prices = getattr(catalog, "prices", None) or ()
    values = prices.values() if isinstance(prices, Mapping) else prices
    return tuple(p for p in values if p.gpu is not None and p.gpu.casefold() == gpu_id.casefold())


def _inline_gpu(spec: GpuSpecSection) -> GpuSpec:
    name = spec.name or f"custom GPU ({spec.memory_gib:g} GiB)"
    return GpuSpec(id="inline-gpu", **{**spec.model_dump(exclude_none=True), "name": name})


def to_plan_inputs(
    session: Session, catalog: CatalogLike, *, file: str = "<session>", text: str | None = None
) -> PlanInputs:
    """Resolve a session against the catalog. Raises SessionError naming the field (e.g.
    `model.catalog: unknown model 'llama-3.1-7b' (did you mean llama-3.1-8b?)`); pass the file's
    `text` to have it placed on its line."""
    problems: list[tuple[str, str]] = []

    def attempt(section: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except FieldProblem as exc:
            problems.append((f"{section}.{exc.field}", exc.message))
            return None

    m, hw = session.model, session.hardware
    if m.catalog is not None:
        model = attempt("model", lambda: _lookup(catalog.model, m.catalog, "model", "catalog", catalog))
    else:
        model = attempt("model", m.inline_spec)

    server = None
    if hw.server is not None:
        server = attempt("hardware", lambda: _lookup(catalog.server, hw.server, "server", "server", catalog))
    gpu_id = hw.gpu
    if hw.gpu_spec is not None:
        gpu = _inline_gpu(hw.gpu_spec)
    else:
        if gpu_id is None and server is not None:
            gpu_id = server.gpu
            if gpu_id is None:
                problems.append(("hardware.gpu", f"server '{server.id}' does not say which GPU it carries; set gpu"))
        field = "gpu" if hw.gpu is not None else "server"
        gpu = None
        if gpu_id is not None:
            gpu = attempt("hardware", lambda: _lookup(catalog.gpu, gpu_id, "gpu", field, catalog))

    if server is not None and gpu is not None and hw.gpu_spec is None:
        mismatch = server_gpu_mismatch(catalog, server, gpu.id)
        if mismatch is not None:
            problems.append(("hardware.server", mismatch))

    prices = _prices(catalog, gpu.id) if gpu is not None and hw.gpu_spec is None else ()
    costs = session.costs
    if costs.provider and costs.price_per_gpu_hour is None and gpu is not None and hw.gpu_spec is None:
        providers = sorted({p.provider for p in prices})
        if not any(p.provider.lower() == costs.provider.lower() for p in prices):
            known = f" (prices known from: {', '.join(providers)})" if providers else " (no catalog price for it)"
            problems.append(("costs.provider", f"no price for {gpu.id} from '{costs.provider}'{known}"))

    # [training] gpu: the run may train on another GPU than [hardware] serves on
    training_gpu, training_prices = None, ()
    tr = session.training
    if tr is not None and tr.gpu is not None:
        training_gpu = attempt("training", lambda: _lookup(catalog.gpu, tr.gpu, "gpu", "gpu", catalog))
        if training_gpu is not None:
            training_prices = _prices(catalog, training_gpu.id)

    if problems or model is None or gpu is None:
        locator = Locator(text) if text is not None else None
        errors = []
        for field, message in problems:
            line, col, _ = locator.find(parse_path(field)) if locator else (0, 0, False)
            errors.append(SessionError(file, line, col, field, message))
        raise SessionError.collect(errors)

    s = session.serving
    scenarios = dict(DEFAULT_SCENARIOS)
    for name, override in session.scenarios.model_dump(exclude_none=True).items():
        scenarios[name] = dataclasses.replace(scenarios[name], **override)
    return PlanInputs(
        model=model,
        gpu=gpu,
        weights=m.weights,
        kv_cache=m.kv_cache,
        server=server,
        gpus_per_node=server.gpus_per_node if server else (hw.gpus_per_node or DEFAULT_GPUS_PER_NODE),
        tensor_parallel=hw.tensor_parallel,
        pipeline_parallel=hw.pipeline_parallel,
        expert_parallel=hw.expert_parallel,
        dp_attention=hw.data_parallel_attention,
        serving=ServingInputs(
            **s.model_dump(exclude={"sla", "speculative"}),
            ttft_ms=s.sla.ttft_ms,
            itl_ms=s.sla.itl_ms,
            speculative=SpeculativeInputs(**s.speculative.model_dump()) if s.speculative else None,
        ),
        scenarios=scenarios,
        costs=CostInputs(**costs.model_dump()),
        prices=prices,
        training=TrainingInputs(**session.training.model_dump()) if session.training else None,
        name=session.name,
        training_gpu=training_gpu,
        training_prices=training_prices,
        gpu_choices=lambda: catalog_gpus(catalog),
    )


def server_gpu_mismatch(catalog: Any, server: ServerSpec, gpu_id: str) -> str | None:
    """Issue 7 item 9, the one rule for every face: a named server must hold the chosen GPU (its
    power, rack units and GPUs per node belong to that GPU). None when it does, or when the server
    does not say which GPU it carries; else the message, naming the servers that do hold it. The
    app applies the same rule by moving the server when the GPU changes (tui/editing.py)."""
    if server.gpu is None or server.gpu.casefold() == gpu_id.casefold():
        return None
    servers = getattr(catalog, "servers", None)
    holders: list[str] = []
    if isinstance(servers, Mapping):
        for sid in servers:
            try:
                other = servers[sid]
            except Exception:  # a broken user entry: not a suggestion
                continue
            if other.gpu is not None and other.gpu.casefold() == gpu_id.casefold():
                holders.append(sid)
    fix = (f"set [hardware] server = \"{holders[0]}\"" + (f" (or {', '.join(holders[1:3])})" if holders[1:] else "")
           if holders else "no catalog server holds it: remove [hardware] server and set gpus_per_node")
    return (f"server '{server.id}' holds {server.gpu}, not [hardware] gpu = \"{gpu_id}\": "
            f"{fix}, or choose gpu = \"{server.gpu}\"")


def catalog_gpus(catalog: Any) -> tuple[GpuSpec, ...]:
    """Every usable GPU of the catalog (a broken user entry is skipped: it has its own error when
    named), for the advice on a plan that does not fit."""
    gpus = getattr(catalog, "gpus", None)
    if not isinstance(gpus, Mapping):
        return ()
    out = []
    for gid in list(gpus):
        try:
            spec = gpus[gid]
        except Exception:
            continue
        if isinstance(spec, GpuSpec):
            out.append(spec)
    return tuple(out)
