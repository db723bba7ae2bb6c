"""The app's controllers, driven without a screen: latest-wins planning, the document and its files,
the telemetry link's coalescing, and the pane registry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from catalogs.loader import load_catalog
from engine.telemetry.samples import HostSample
from sessions.io import parse_session, update_session
from sessions.recovery import RecoveryStore
from sessions.store import SessionStore

from .conftest import SESSION


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(user_dir=None, hf_cache=False)


@pytest.fixture
def session():
    return parse_session(SESSION, "<test>")


class Jobs:
    """run_job for the planning controller: jobs queue here and run when the test says so."""

    def __init__(self) -> None:
        self.queued: list = []

    def __call__(self, job) -> None:
        self.queued.append(job)

    def run(self, index: int, cancelled: bool = False) -> None:
        self.queued[index](lambda: cancelled)


def planning(posted: list):
    from tui.planning import PlanningController

    jobs = Jobs()
    return PlanningController(jobs, posted.append), jobs


# -- planning -----------------------------------------------------------------------------


def test_a_plan_answering_an_older_input_is_dropped(session, catalog):
    posted: list = []
    ctl, jobs = planning(posted)
    tp2 = update_session(session, {"hardware.tensor_parallel": 2})
    ctl.request(session, catalog)
    ctl.request(tp2, catalog)  # typed while the first was planning
    jobs.run(1)  # the newer input is planned first
    jobs.run(0)  # then the older run finishes
    newer, older = posted
    assert ctl.accept(newer)
    assert not ctl.accept(older)
    assert ctl.plan is newer.plan and ctl.report["hardware"]["tensor_parallel"] == 2
    assert ctl.settled()


def test_the_controller_is_not_settled_until_the_newest_input_is_answered(session, catalog):
    posted: list = []
    ctl, jobs = planning(posted)
    ctl.request(session, catalog)
    jobs.run(0)
    ctl.request(session, catalog)
    assert ctl.accept(posted[0]) is False and not ctl.settled()
    jobs.run(1)
    assert ctl.accept(posted[1]) and ctl.settled()


def test_a_cancelled_run_posts_nothing(session, catalog):
    posted: list = []
    ctl, jobs = planning(posted)
    ctl.request(session, catalog)
    jobs.run(0, cancelled=True)
    assert posted == []


def test_an_unknown_model_marks_its_field_and_keeps_the_last_plan(session, catalog):
    from tui.messages import PlanFailed

    posted: list = []
    ctl, jobs = planning(posted)
    ctl.request(session, catalog)
    jobs.run(0)
    assert ctl.accept(posted[0])
    kept = ctl.plan
    ctl.request(update_session(session, {"model.catalog": "no-such-model"}), catalog)
    jobs.run(1)
    failed = posted[1]
    assert isinstance(failed, PlanFailed)
    assert ctl.refuse(failed)
    assert "model.catalog" in ctl.errors() and ctl.plan is kept
    ctl.set_field_error("model.catalog", "typed text")
    assert ctl.errors()["model.catalog"] == "typed text"  # what the field refused wins


def test_a_plan_result_carries_no_field_values(session, catalog):
    """The rule of issue 7 item 1: a plan result never writes into a field. Its only effect on
    the sidebar is marks (errors and warnings), keyed by field path."""
    posted: list = []
    ctl, jobs = planning(posted)
    ctl.request(session, catalog)
    jobs.run(0)
    ctl.accept(posted[0])
    warnings = ctl.warnings_by_field(ctl.plan)
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in warnings.values())


# -- editing ------------------------------------------------------------------------------


def test_a_field_edit_goes_through_the_session_model(session):
    from tui.editing import edit_field

    edit = edit_field(session, "hardware.tensor_parallel", "2")
    assert edit.error is None and edit.session.hardware.tensor_parallel == 2
    same = edit_field(session, "hardware.tensor_parallel", "4")
    assert same.session is None and same.error is None
    bad = edit_field(session, "hardware.tensor_parallel", "")
    assert bad.session is None and bad.error


def test_a_typed_model_id_is_resolved_case_insensitively(session, catalog):
    from tui.editing import pick_model

    assert pick_model(session, catalog, "Llama-3.1-8B").session.model.catalog == "llama-3.1-8b"
    assert pick_model(session, catalog, "no-such-model").error


# -- the document -------------------------------------------------------------------------


def documents(tmp_path: Path, path: Path | None = None, watch: bool = False):
    from tui.persistence import DocumentController

    return DocumentController(path, watch=watch, store=SessionStore(tmp_path / "store"),
                              recovery=RecoveryStore(tmp_path / "recovery"))


def test_boot_loads_the_file_and_plans_it(tmp_path, session_file, catalog):
    from tui.planning import PlanningController

    docs = documents(tmp_path, session_file)
    boot = docs.boot(catalog, PlanningController.compute)
    assert boot.error is None and boot.document.kind == "file" and boot.first_plan is not None


def test_a_broken_file_boots_the_default_session_and_says_why(tmp_path, catalog):
    from tui.planning import PlanningController

    broken = tmp_path / "broken.toml"
    broken.write_text("schema_version = 1\nname = 3\n", encoding="utf-8")
    boot = documents(tmp_path, broken).boot(catalog, PlanningController.compute)
    assert boot.error is not None and boot.document.kind == "new"
    assert broken.read_text(encoding="utf-8") == "schema_version = 1\nname = 3\n"


def test_save_keeps_versions_and_clears_recovery(tmp_path, session):
    from tui.document import Document

    docs = documents(tmp_path)
    docs.doc = Document.new(session)
    assert docs.edit(update_session(session, {"hardware.tensor_parallel": 2}))
    docs.write_recovery()
    assert docs.recovery.read() is not None
    path, renamed = docs.save_store("chat")
    assert path.exists() and renamed and docs.doc.session.name == "chat" and not docs.dirty
    assert docs.recovery.read() is None
    docs.edit(update_session(docs.doc.session, {"hardware.tensor_parallel": 8}))
    assert docs.dirty
    docs.save_store("chat")
    assert len(docs.store.versions("chat")) >= 1
    assert docs.stored("chat").session.hardware.tensor_parallel == 8


def test_a_failed_open_changes_nothing(tmp_path, session):
    from tui.document import Document
    from tui.persistence import DocumentProblem

    docs = documents(tmp_path)
    docs.doc = before = Document.new(session)
    with pytest.raises(DocumentProblem) as problem:
        docs.stored("missing")
    assert problem.value.title == "Cannot open the session" and docs.doc is before


def test_watch_sees_a_change_a_deletion_and_a_broken_edit(tmp_path, session_file, catalog):
    docs = documents(tmp_path, session_file, watch=True)
    docs.doc = docs.file(session_file)
    docs.booted(docs.boot(catalog, lambda s, c: None))
    assert docs.watch_changed() == "same"
    session_file.write_text(SESSION.replace("tensor_parallel = 4", "tensor_parallel = 2"), encoding="utf-8")
    assert docs.watch_changed() == "changed"
    assert docs.read_watched(catalog).session.hardware.tensor_parallel == 2
    session_file.write_text(SESSION.replace("tensor_parallel = 4", "tensor_parallel = -1"), encoding="utf-8")
    docs.watch_changed()
    assert docs.read_watched(catalog).error is not None
    session_file.unlink()
    assert docs.watch_changed() == "missing"


def test_an_export_never_replaces_the_session_file(tmp_path, session_file):
    docs = documents(tmp_path, session_file)
    docs.doc = docs.file(session_file)
    assert "session file" in docs.export_problem(session_file)
    assert docs.export_problem(tmp_path) is not None
    assert docs.export_problem(tmp_path / "report.md") is None


# -- telemetry ----------------------------------------------------------------------------


def test_the_link_keeps_one_message_in_flight_and_hands_over_the_newest():
    from tui.telemetry_link import TelemetryLink

    posted: list = []
    link = TelemetryLink(posted.append)
    samples = [HostSample(timestamp=float(t), hostname="h", backend="scripted") for t in range(5)]
    threads = [threading.Thread(target=link.arrived, args=(s,)) for s in samples]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(posted) == 1  # coalesced
    newest = link.take(posted[0])
    assert newest.timestamp in {s.timestamp for s in samples}
    link.arrived(samples[0])
    assert len(posted) == 2  # the next sample posts again


# -- the pane registry --------------------------------------------------------------------


def test_every_tab_is_registered_once_with_a_builder():
    from tui.pane_registry import BY_TAB, PANES, TABS

    assert TABS[:6] == ("sizing", "serving", "training", "forecast", "monitor", "sessions")
    assert len(set(TABS)) == len(TABS) == len(BY_TAB)
    assert len({spec.widget_id for spec in PANES}) == len(PANES)
    assert all(callable(spec.build) for spec in PANES)


def test_the_app_binds_a_digit_to_every_registered_tab():
    from tui.app import GpuPlanApp
    from tui.pane_registry import TABS

    keys = {b.key: b.action for b in GpuPlanApp.BINDINGS}
    for n, tab in enumerate(TABS, start=1):
        assert keys[str(n)] == keys[f"alt+{n}"] == f"tab('{tab}')"


def test_the_server_follows_the_gpu(session, catalog):
    """Issue 7 item 9: an H200 never stays in a DGX H100."""
    from tui.editing import edit_field

    edit = edit_field(session, "hardware.gpu", "h200-sxm-141gb", catalog)
    assert edit.session.hardware.server == "hgx-h200" and "dgx-h100" in edit.note
    lone = edit_field(session, "hardware.gpu", "rtx-4090", catalog)
    assert lone.session.hardware.server is None and "none" in lone.note
    same = edit_field(session, "hardware.gpu", "h100-sxm-80gb", catalog)
    assert same.session is None  # unchanged: already the GPU, the server stays
