"""The planning controller: latest-wins plan jobs over the session model (DESIGN section 2).

Rules it keeps, each testable without a screen (tests/tui/test_controllers.py):
- the session model is the one source of truth: a job plans the session it was given, and the
  plan it answers with names that session's generation;
- a newer input supersedes an older run: `request` bumps the generation (the app runs jobs in an
  exclusive worker group, so an older run is cancelled) and `accept`/`refuse` drop any result whose
  generation is not the newest: a plan that answers an older input never reaches the panes;
- a plan result never writes into the fields: it carries figures, warnings and resolve errors
  (marks), never values, so a field being edited is never rewritten by it.

The controller holds no widgets and imports neither Textual's app nor the engine at import time:
`run_job` runs a callable off the UI thread and `post` hands the UI thread a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .fields import field_for
from .messages import PlanFailed, PlanReady

if TYPE_CHECKING:
    from sessions.schema import Session


class PlanningController:
    """Plan generations, the current plan and the marks (errors, warnings) it implies."""

    def __init__(self, run_job: Callable[[Callable[[Callable[[], bool]], None]], None],
                 post: Callable[[Any], None],
                 compute: Callable[[Session, Any], tuple[Any, dict[str, Any]]] | None = None) -> None:
        # run_job(job): runs job(cancelled) off the UI thread, cancelling the previous one.
        self._run_job = run_job
        self._post = post
        if compute is not None:  # a stand-in planner (tests slow it down on purpose; the bench)
            self.compute = compute  # type: ignore[method-assign]
        self.generation = 0  # the newest input's generation
        self.planned_generation = 0  # the newest generation answered (planned or refused)
        self.plan: Any = None
        self.session: Session | None = None  # the session the current plan answers
        self.report: dict[str, Any] | None = None
        self.field_errors: dict[str, str] = {}  # text the fields could not take
        self.resolve_errors: dict[str, str] = {}  # what the newest plan refused (e.g. unknown id)

    # -- jobs ------------------------------------------------------------------------------
    @staticmethod
    def compute(session: Session, catalog: Any) -> tuple[Any, dict[str, Any]]:
        """Resolve and plan (any thread). Raises SessionError for what the user can fix."""
        from engine.plan import plan
        from sessions.resolve import to_plan_inputs

        result = plan(to_plan_inputs(session, catalog))
        return result, result.to_dict()

    def request(self, session: Session, catalog: Any) -> int:
        """Plan `session` off the UI thread; returns the generation its answer will carry."""
        self.generation += 1
        generation = self.generation

        def job(cancelled: Callable[[], bool]) -> None:
            self._job(session, catalog, generation, cancelled)

        self._run_job(job)
        return generation

    def _job(self, session: Session, catalog: Any, generation: int, cancelled: Callable[[], bool]) -> None:
        from sessions.errors import SessionError

        if cancelled():  # superseded while it waited for a thread: plan only the newest input
            return
        try:
            result, report = self.compute(session, catalog)
        except SessionError as exc:
            if not cancelled():
                self._post(PlanFailed(exc, generation))
            return
        if not cancelled():
            self._post(PlanReady(result, report, session, generation))

    def first_plan(self, plan: Any, report: dict[str, Any], session: Session) -> PlanReady:
        """The boot worker's plan of the first session, as the newest answer."""
        self.generation += 1
        return PlanReady(plan, report, session, self.generation)

    # -- answers ---------------------------------------------------------------------------
    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def accept(self, message: PlanReady) -> bool:
        """Take a plan if it answers the newest input; False (dropped) otherwise."""
        if not self.is_current(message.generation):
            return False
        self.plan, self.report, self.session = message.plan, message.report, message.session
        self.planned_generation = message.generation
        self.resolve_errors = {}
        return True

    def refuse(self, message: PlanFailed) -> bool:
        """A session the engine could not plan: its problems become field marks; the last plan
        stays. False (dropped) when it answers an older input."""
        if not self.is_current(message.generation):
            return False
        self.planned_generation = message.generation
        errors: dict[str, str] = {}
        for problem in message.error.problems:
            spec = field_for(problem.field)
            errors[spec.path if spec else "model.catalog"] = problem.message
        self.resolve_errors = errors
        return True

    def job_crashed(self) -> None:
        """A plan job raised something unexpected: nothing newer will answer this generation."""
        self.planned_generation = self.generation

    def settled(self) -> bool:
        """True when the newest input has been planned (or refused)."""
        return self.planned_generation == self.generation

    # -- marks -----------------------------------------------------------------------------
    def set_field_error(self, path: str, message: str | None) -> bool:
        """Record or clear a field's error; True when the marks changed."""
        if message is None:
            return self.field_errors.pop(path, None) is not None
        self.field_errors[path] = message
        return True

    def errors(self) -> dict[str, str]:
        """Every field's error: what the field refused wins over what the plan refused."""
        return {**self.resolve_errors, **self.field_errors}

    @staticmethod
    def warnings_by_field(plan: Any) -> dict[str, list[str]]:
        """The plan's warnings that name a sidebar field (info notes excluded)."""
        warnings: dict[str, list[str]] = {}
        for w in plan.warnings:
            spec = field_for(w.field) if w.field else None
            if spec is not None and w.severity != "info":
                warnings.setdefault(spec.path, []).append(w.message)
        return warnings


def stale_notice(errors: dict[str, str], planned: Session | None) -> str | None:
    """What the panes say while an input is invalid (issue 7 item 3): they show the last valid
    plan, which field holds the newest input back, and the value the plan still uses for it.
    None when every field is valid."""
    if not errors:
        return None
    from .fields import BY_PATH, format_value, get_path

    data = planned.model_dump(mode="python") if planned is not None else {}
    parts = []
    for path, reason in errors.items():
        spec = BY_PATH.get(path)
        label = spec.label if spec else path
        used = get_path(data, path) if data else None
        if spec is not None and spec.kind != "choice":
            shown = format_value(spec, used) if used is not None else (spec.blank_means or "default")
        else:
            shown = str(used) if used is not None else "-"
        parts.append(f"{label}: {reason} (the plan uses {shown})")
    return "⚠ Last valid plan — held back by " + "; ".join(parts)
