"""Typed messages between the app, its workers and its widgets. Workers never touch widgets:
they post one of these and the app renders on its own thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from engine.plan import Plan
    from engine.telemetry.samples import HostSample
    from sessions.errors import SessionError
    from sessions.schema import Session

    from .model_index import ModelEntry


class PlanReady(Message):
    """A plan for `session`; every pane renders from this one object."""

    def __init__(self, plan: Plan, report: dict[str, Any], session: Session, generation: int) -> None:
        super().__init__()
        self.plan = plan
        self.report = report  # plan.to_dict(), computed in the worker
        self.session = session
        self.generation = generation


class PlanFailed(Message):
    """The session could not be planned (e.g. an unknown catalog id): mark the field, keep the
    last plan."""

    def __init__(self, error: SessionError, generation: int) -> None:
        super().__init__()
        self.error = error
        self.generation = generation


class HostSampleReady(Message):
    """One immutable telemetry sample, from the sampler thread."""

    def __init__(self, sample: HostSample) -> None:
        super().__init__()
        self.sample = sample


class FieldEdited(Message):
    """A sidebar field's text or choice changed (`value` is the raw text or the chosen option)."""

    def __init__(self, path: str, value: Any) -> None:
        super().__init__()
        self.path = path
        self.value = value


class ModelPicked(Message):
    """The model picker chose an entry (catalog, user or Hugging Face cache)."""

    def __init__(self, entry: ModelEntry) -> None:
        super().__init__()
        self.entry = entry
