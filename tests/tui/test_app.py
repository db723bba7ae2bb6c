"""The app driven with Pilot: live recalculation, invalid input, sessions, watch mode, recovery,
quitting with unsaved changes."""

from __future__ import annotations

import os
import signal

from textual.widgets import Input, TabbedContent

from sessions.io import load_session, parse_session
from sessions.recovery import RecoveryStore
from sessions.store import SessionStore
from tui.screens.dialogs import QuitScreen

from .conftest import SESSION, make_app, memory_rows, scenario_rows, send_keys, settle, type_into

CONTEXT = "#f-serving-max-model-len"


async def test_typing_a_context_length_changes_the_scenario_table(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        memory_before = memory_rows(app)
        sessions_before = app.report["memory"]["sessions_per_replica"]
        await type_into(pilot, CONTEXT, "2048")
        await settle(pilot)
        assert app.doc.session.serving.max_model_len == 2048
        # The KV-limited sessions change with the context; whether the scenarios move depends on
        # what binds (here the SLA batch does), so the table is checked against the new plan.
        assert app.report["memory"]["sessions_per_replica"] != sessions_before
        replicas = next(row for row in scenario_rows(app) if row[0] == "replicas")
        assert replicas[1:] == [f"{app.report['scenarios'][n]['replicas']:,}" for n in ("minimum", "recommended", "ideal")]
        assert any("2,048" in row[0] for row in memory_rows(app))
        assert memory_rows(app) != memory_before
        assert app.dirty
        assert "● unsaved" in app.query_one("#header").text


async def test_k_suffix_and_blank_context(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, CONTEXT, "32k")
        await settle(pilot)
        assert app.doc.session.serving.max_model_len == 32768
        await type_into(pilot, CONTEXT, "")
        await settle(pilot)
        assert app.doc.session.serving.max_model_len is None  # the model's own limit
        assert app.report["memory"]["max_model_len"] == 131072


async def test_an_invalid_value_marks_the_field_and_keeps_the_plan(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plan_before, rows_before = app.plan, scenario_rows(app)
        await type_into(pilot, CONTEXT, "abc")
        await settle(pilot)
        field = app.query_one(CONTEXT, Input)
        error = app.query_one("#err-serving-max-model-len")
        assert field.has_class("field-invalid")
        assert error.has_class("-shown") and "whole number" in str(error.render())
        assert app.plan is plan_before and scenario_rows(app) == rows_before
        # a value the session model refuses: marked with the model's reason
        await type_into(pilot, "#f-serving-memory-fraction", "2")
        await settle(pilot)
        err = app.query_one("#err-serving-memory-fraction")
        assert err.has_class("-shown") and "1" in str(err.render())
        assert app.plan is plan_before and app.doc.session.serving.memory_fraction == 0.9
        # fixing it clears the mark and plans again
        await type_into(pilot, "#f-serving-memory-fraction", "85%")
        await settle(pilot)
        assert not app.query_one("#err-serving-memory-fraction").has_class("-shown")
        assert app.doc.session.serving.memory_fraction == 0.85
        assert app.plan is not plan_before
        assert app.query_one(CONTEXT, Input).has_class("field-invalid")  # still wrong, still marked


async def test_an_unknown_model_is_marked_and_the_plan_kept(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plan_before = app.plan
        await type_into(pilot, "#model-input", "llama-3.1-7b")  # no such model: the list says so
        assert app.sidebar.picker._shown == []
        await pilot.press("enter")
        await settle(pilot)
        error = app.query_one("#err-model-catalog")
        assert error.has_class("-shown") and "llama-3.1-8b" in str(error.render())  # did you mean
        assert app.plan is plan_before
        assert app.doc.session.model.catalog == "llama-3.1-70b" and not app.dirty  # session untouched
        await type_into(pilot, "#model-input", "LLAMA-3.1-8B")  # ids are matched case-insensitively
        await pilot.press("enter")
        await settle(pilot)
        assert app.doc.session.model.catalog == "llama-3.1-8b"
        assert not app.query_one("#err-model-catalog").has_class("-shown")


async def test_model_picker_filters_as_you_type(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#model-input", "qwen3")
        picker = app.sidebar.picker
        assert picker.has_class("-open")
        assert picker._shown and all("qwen3" in e.haystack for e in picker._shown)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.doc.session.model.catalog == picker._shown[1].id
        assert app.report["model"]["id"] == app.doc.session.model.catalog


async def test_save_reopen_identical_plan(session_file):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-concurrent-sessions", "750")
        await settle(pilot)
        await pilot.press("ctrl+s")  # first save asks a name
        await pilot.pause()
        prompt = app.screen.query_one("#prompt-input", Input)
        prompt.value = "my-plan"
        await pilot.press("enter")
        await settle(pilot)
        assert not app.dirty
        report = app.report
    store = SessionStore()
    assert [e.name for e in store.list()] == ["my-plan"]
    assert store.load("my-plan").serving.concurrent_sessions == 750

    app2 = make_app()
    async with app2.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("enter")  # the only saved session
        await settle(pilot)
        assert app2.doc.kind == "store" and app2.doc.name == "my-plan"
        assert app2.report == report
        assert not app2.dirty


async def test_second_save_keeps_a_version_and_the_sessions_tab_diffs_them(session_file):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_save_as()
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = "v-test"
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#f-serving-prompt-tokens", "3000")
        await settle(pilot)
        await pilot.press("ctrl+s")  # saved as before: no prompt
        await settle(pilot)
        assert not app.dirty
        assert len(SessionStore().versions("v-test")) == 1
        app.action_tab("sessions")
        await pilot.pause()
        for _ in range(50):
            await pilot.pause(0.02)
            if app.query_one("#diff-results").row_count:
                break
        inputs = app.query_one("#diff-inputs")
        assert [str(inputs.get_row_at(i)[0]) for i in range(inputs.row_count)] == ["serving.prompt_tokens"]
        results = app.query_one("#diff-results")
        assert results.row_count > 5


async def test_opened_file_is_never_written_without_an_explicit_save(session_file):
    mtime = session_file.stat().st_mtime_ns
    app = make_app(session_file, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, CONTEXT, "4096")
        await settle(pilot)
        app._poll_watch()  # a watch tick and a recovery tick, run by the test rather than waited for
        app._write_recovery()
        assert session_file.read_text() == SESSION and session_file.stat().st_mtime_ns == mtime
        await pilot.press("ctrl+s")  # explicit: written in place, atomically
        await settle(pilot)
        assert load_session(session_file).serving.max_model_len == 4096
        assert not app.dirty


async def test_watch_mode_reloads_and_a_broken_edit_keeps_the_plan(session_file):
    app = make_app(session_file, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows_before = scenario_rows(app)
        session_file.write_text(SESSION.replace("concurrent_sessions = 200", "concurrent_sessions = 2000"))
        os.utime(session_file, ns=(session_file.stat().st_atime_ns, session_file.stat().st_mtime_ns + 10**9))
        while app.doc.session.serving.concurrent_sessions != 2000:  # the watch timer's reload,
            await pilot.pause(0.05)  # however slow the host (the suite's timeout guards a hang)
        await settle(pilot)
        assert app.doc.session.serving.concurrent_sessions == 2000
        assert app.query_one("#f-serving-concurrent-sessions", Input).value == "2000"
        good_plan, good_rows = app.plan, scenario_rows(app)
        assert good_rows != rows_before
        assert not app.dirty

        broken = SESSION.replace("prompt_tokens = 4000", 'prompt_tokens = "lots"')
        session_file.write_text(broken)
        os.utime(session_file, ns=(session_file.stat().st_atime_ns, session_file.stat().st_mtime_ns + 2 * 10**9))
        banner = app.query_one("#banner")
        app._poll_watch()
        await pilot.pause()
        text = str(banner.render())
        assert banner.has_class("-shown")
        assert f"{session_file}:21" in text and "serving.prompt_tokens" in text
        assert app.plan is good_plan and scenario_rows(app) == good_rows
        assert session_file.read_text() == broken  # never rewritten

        session_file.write_text(SESSION)
        os.utime(session_file, ns=(session_file.stat().st_atime_ns, session_file.stat().st_mtime_ns + 3 * 10**9))
        app._poll_watch()
        await settle(pilot)
        assert not banner.has_class("-shown")
        assert scenario_rows(app) == rows_before


async def test_a_session_file_that_fails_to_load_shows_the_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SESSION.replace("[serving]", "[serving]\nturbo = true"))
    before = bad.read_text()
    app = make_app(bad)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "ErrorScreen"
        assert f"{bad}:16" in app.load_error and "turbo" in app.load_error
        await pilot.press("escape")
        assert app.doc.kind == "new"  # ctrl+s would ask a name, never write bad.toml
    assert bad.read_text() == before


async def test_recovery_after_sighup_then_restore_on_next_start(session_file):
    from tui.screens.robust_dialogs import RecoveryListScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "777")
        await settle(pilot)
        assert app.dirty
        app.handle_signal(signal.SIGHUP, None)  # what run_app installs for SIGHUP/SIGTERM
        await pilot.pause(0.1)
    assert app.return_code == 128 + signal.SIGHUP
    (recovered,) = RecoveryStore().pending()  # that instance is gone: its work is pending
    assert parse_session(recovered.text).serving.output_tokens == 777

    app2 = make_app()
    async with app2.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app2.screen, RecoveryListScreen)
        await pilot.press("r")
        await settle(pilot)
        assert app2.doc.session.serving.output_tokens == 777
        assert app2.query_one("#f-serving-output-tokens", Input).value == "777"
        assert app2.dirty  # restored work is unsaved until saved
    (again,) = RecoveryStore().pending()  # app2 keeps it now, and ended without saving

    app3 = make_app()  # discarding removes it
    async with app3.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app3.screen, RecoveryListScreen)
        await pilot.press("d")
        await pilot.pause()
    assert RecoveryStore().pending() == []


async def test_recovery_file_is_written_periodically_while_dirty(session_file):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app._write_recovery()
        assert app.recovery.read() is None  # nothing unsaved
        await type_into(pilot, "#f-serving-output-tokens", "321")
        await settle(pilot)
        app._write_recovery()
        assert parse_session(app.recovery.read().text).serving.output_tokens == 321


async def test_quit_with_unsaved_changes_asks(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "999")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")  # cancel: still running, still dirty
        await pilot.pause()
        assert not isinstance(app.screen, QuitScreen) and app.is_running and app.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("d")  # discard
        await pilot.pause()
    assert app.return_code == 0
    assert session_file.read_text() == SESSION


async def test_quit_without_changes_does_not_ask(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_save_choice_saves_the_file(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "888")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
    assert load_session(session_file).serving.output_tokens == 888


async def test_header_shows_the_host(session_file):
    from engine.telemetry.simulated import SimulatedBackend

    app = make_app(session_file, backend=SimulatedBackend(n_gpus=8))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(40):
            await pilot.pause(0.05)
            if app.sample is not None:
                break
        assert app.query_one("#header").text.rstrip().endswith("SIMULATED 8 GPUs")
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(40):
            await pilot.pause(0.05)
            if app.sample is not None:
                break
        assert app.query_one("#header").text.rstrip().endswith("no GPU")


async def test_monitor_first_layout(session_file):
    app = make_app(session_file, monitor_first=True, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.query_one(TabbedContent).active == "monitor"
        assert not app.sidebar.display
        await pilot.press("ctrl+b")
        assert app.sidebar.display


async def test_narrow_terminal_starts_with_the_sidebar_hidden(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.sidebar.display
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.sidebar.display and app.focused is not None and app.sidebar in app.focused.ancestors
        await pilot.press("ctrl+b")
        assert not app.sidebar.display
        await pilot.press("6")  # tabs by number when no field has focus
        assert app.query_one(TabbedContent).active == "sessions"


async def test_export_report_through_the_shared_renderers(session_file, tmp_path):
    from tui.report import render

    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        target = tmp_path / "out.md"
        app.action_export("md")
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == render(app.plan, "md")
        # never over the session file
        app.action_export("json")
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = str(session_file)
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ErrorScreen"
    assert session_file.read_text() == SESSION


async def test_import_config_json_inlines_the_model(session_file, tmp_path):
    import json
    import tomllib

    from tests.engine.conftest import model_entry

    cfg_dir = tmp_path / "my-model"
    cfg_dir.mkdir()
    (cfg_dir / "config.json").write_text(json.dumps({**model_entry("llama-3.1-8b")["config"], "pad_token_id": None}))
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.import_config(cfg_dir / "config.json")
        await settle(pilot)
        assert app.doc.session.model.catalog is None and app.doc.session.model.config
        assert "(inline)" in app.query_one("#model-input", Input).value
        assert app.report["model"]["params_total"] > 7e9
    assert tomllib.loads(SESSION)  # untouched file still parses


async def test_command_palette_offers_every_action(session_file):
    from tui.commands import app_commands

    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [t for t, _, _ in app_commands(app)]
        for wanted in ("Save", "Save as...", "Open...", "New session", "Rename session...", "Delete session",
                       "Export report as Markdown...", "Export report as JSON...", "Export report as text...",
                       "Export report as CSV...", "Import a Hugging Face config.json...", "Switch theme",
                       "Toggle sidebar"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "switch theme":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "gpuplan-light"


async def test_rename_and_delete_stored_session(session_file):
    store = SessionStore()
    store.save(parse_session(SESSION), "chat-70b")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_stored("chat-70b")
        await settle(pilot)
        app.action_rename()
        await pilot.pause()
        app.screen.query_one("#prompt-input", Input).value = "chat-70b-prod"
        await pilot.press("enter")
        await settle(pilot)
        assert [e.name for e in store.list()] == ["chat-70b-prod"]
        assert store.load("chat-70b-prod").name == "chat-70b-prod"
        assert app.doc.name == "chat-70b-prod" and not app.dirty
        app.action_delete()
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert store.list() == []
        assert app.doc.kind == "new" and app.dirty  # still on screen, unsaved


async def test_worker_failure_goes_to_the_log_not_the_screen(session_file, monkeypatch, private_home):
    import engine.plan

    def boom(inputs):
        raise RuntimeError("engine bug")

    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(engine.plan, "plan", boom)
        await type_into(pilot, CONTEXT, "4096")
        await settle(pilot)
        assert app.is_running
    log = (private_home / "state" / "gpuplan.jsonl").read_text()
    assert "engine bug" in log and "RuntimeError" in log


async def test_question_mark_opens_help_from_a_field_and_types_in_a_dialog(session_file):
    from tui.screens.help import HelpScreen

    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one(CONTEXT, Input).focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.query_one(CONTEXT, Input).value == "8192"
        await pilot.press("escape")
        app.action_export("md")
        await pilot.pause()
        await pilot.press("end", "question_mark")  # a path may hold a ?: typed, no help
        assert app.screen.query_one("#prompt-input", Input).value.endswith("?")


async def test_app_keys_wait_while_a_dialog_is_up(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_export("md")
        await pilot.pause()
        await pilot.press("ctrl+b")
        assert app.sidebar.display  # not toggled under the dialog


async def test_watch_reloads_without_asking_and_never_writes_the_file(session_file):
    mtime = session_file.stat().st_mtime_ns
    app = make_app(session_file, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(3):  # a few watch ticks with nothing changed
            app._poll_watch()
            await pilot.pause()
        assert session_file.stat().st_mtime_ns == mtime
        assert app.documents.source_label().startswith("watching")  # the header may elide it
        assert app.query_one("#header").text.rstrip().removesuffix("no GPU").rstrip().endswith(session_file.name)


# -- issue 7 item 1: a field never disagrees with the plan, under fast bursts and slow plans --


class GatedPlanner:
    """The real planner behind a gate the test holds shut: every plan waits until the test opens
    it, so a burst of keys lands while plans are still running (as on a loaded machine)."""

    def __init__(self) -> None:
        import threading

        self.gate = threading.Event()
        self.gate.set()
        self.planned: list = []  # the sessions actually planned, in order

    def __call__(self, session, catalog):
        from tui.planning import PlanningController

        self.gate.wait()
        self.planned.append(session)
        return PlanningController.compute(session, catalog)


def field_agrees_with_plan(app, selector: str, path: str) -> bool:
    """The field shows what the plan used, or is marked invalid (and the panes say so)."""
    from tui.fields import BY_PATH, FieldInputError, get_path, parse_value

    text = app.query_one(selector, Input).value
    if path in app.planning.errors():
        return app.query_one(selector, Input).has_class("field-invalid")
    try:
        shown = parse_value(BY_PATH[path], text)
    except FieldInputError:
        return False
    planned = get_path(app.planning.session.model_dump(mode="python"), path)
    return shown == planned == get_path(app.doc.session.model_dump(mode="python"), path)


async def burst(pilot, planner: GatedPlanner, *keys: str) -> None:
    """Send `keys` at once, as a fast typist's terminal does, with every plan held at the gate;
    then let the plans through and settle."""
    planner.gate.clear()
    try:
        send_keys(pilot.app, *keys)
        await pilot.pause()
    finally:
        planner.gate.set()
    await settle(pilot)


async def test_a_tensor_parallel_burst_under_slow_plans_keeps_field_and_plan_equal(session_file):
    tp = "#f-hardware-tensor-parallel"
    planner = GatedPlanner()
    app = make_app(session_file, planner=planner)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one(tp, Input).focus()
        await pilot.press("end")
        await burst(pilot, planner, "ctrl+a", "ctrl+k", "4")
        assert app.query_one(tp, Input).value == "4"
        assert "hardware.tensor_parallel" not in app.planning.errors()
        assert app.report["hardware"]["tensor_parallel"] == 4
        assert field_agrees_with_plan(app, tp, "hardware.tensor_parallel")
        await burst(pilot, planner, "backspace", "2")
        assert app.query_one(tp, Input).value == "2"
        assert app.report["hardware"]["tensor_parallel"] == 2
        assert field_agrees_with_plan(app, tp, "hardware.tensor_parallel")


async def test_a_context_burst_under_slow_plans_ends_as_typed(session_file):
    planner = GatedPlanner()
    app = make_app(session_file, planner=planner)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, CONTEXT, "999999999999")
        await settle(pilot)
        field = app.query_one(CONTEXT, Input)
        await pilot.press("end")
        await burst(pilot, planner, *["backspace"] * 12, "8", "1", "9", "2")
        assert field.value == "8192"
        assert app.doc.session.serving.max_model_len == 8192
        assert app.report["memory"]["max_model_len"] == 8192
        assert field_agrees_with_plan(app, CONTEXT, "serving.max_model_len")


async def test_plans_that_land_in_the_middle_of_a_burst_never_rewrite_the_field(session_file):
    """Each key's plan is let through while the next keys are typed: older answers arrive
    after newer input and are dropped; the field keeps every key."""
    planner = GatedPlanner()
    app = make_app(session_file, planner=planner)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one(CONTEXT, Input).focus()
        await pilot.press("end")
        planner.gate.clear()
        try:
            for key in [*["backspace"] * 4, "4", "0", "9", "6"]:
                await pilot.press(key)
                planner.gate.set()  # held plans run while the next key is handled
                await pilot.press("right")  # (a key that edits nothing: the cursor is at the end)
                planner.gate.clear()
        finally:
            planner.gate.set()
        await settle(pilot)
        assert app.query_one(CONTEXT, Input).value == "4096"
        assert app.report["memory"]["max_model_len"] == 4096
        assert field_agrees_with_plan(app, CONTEXT, "serving.max_model_len")


async def test_a_plan_answering_an_older_input_changes_nothing_on_screen(session_file):
    from tui.messages import PlanReady

    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        old = app.planning.session, app.plan, app.report, app.planning.generation
        await type_into(pilot, CONTEXT, "4096")
        await settle(pilot)
        rows = scenario_rows(app)
        app.post_message(PlanReady(old[1], old[2], old[0], old[3]))  # a late answer to 8192
        await pilot.pause()
        await settle(pilot)
        assert app.report["memory"]["max_model_len"] == 4096 and scenario_rows(app) == rows
        assert app.query_one(CONTEXT, Input).value == "4096"


# -- issue 7 item 2: tab keys from anywhere, escape leaves a field -------------------------


async def test_tab_keys_switch_from_a_focused_field_and_never_type_into_it(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tabs = app.query_one(TabbedContent)
        assert app.focused is None  # nothing has focus at start-up: digits are tab keys
        await pilot.press("2")
        assert tabs.active == "serving"
        await pilot.press("1")
        field = app.query_one(CONTEXT, Input)
        field.focus()
        await pilot.press("end", "alt+5")
        assert tabs.active == "monitor" and field.value == "8192"
        await pilot.press("trade_mark_sign")  # Option+2 on a macOS terminal: "™"
        assert tabs.active == "serving" and field.value == "8192"
        await pilot.press("alt+1")
        await settle(pilot)
        assert tabs.active == "sizing" and app.doc.session.serving.max_model_len == 8192
        assert not app.dirty
        field.focus()
        await pilot.press("escape")  # leaves the field ...
        assert app.focused is None
        await pilot.press("6")  # ... and the digits switch tabs again
        assert tabs.active == "sessions" and field.value == "8192"


# -- issue 7 item 3: the panes say they show the last valid plan -----------------------------


async def test_an_invalid_field_says_the_panes_show_the_last_valid_plan(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        stale = app.query_one("#stale")
        assert not stale.has_class("-shown")
        await type_into(pilot, CONTEXT, "-5")
        await settle(pilot)
        text = str(stale.render())
        assert stale.has_class("-shown") and "Last valid plan" in text
        assert "Context" in text and "8192" in text  # which field, and what the plan still uses
        assert app.report["memory"]["max_model_len"] == 8192
        await type_into(pilot, CONTEXT, "4096")
        await settle(pilot)
        assert not stale.has_class("-shown")


# -- issue 7 item 5: help lists every key, scrolls by keyboard, fits small terminals ---------


async def test_help_lists_every_key_of_every_tab_and_scrolls_by_keyboard(session_file):
    from textual.containers import VerticalScroll

    from tui.pane_registry import PANES
    from tui.screens.help import HelpScreen, help_text

    from .monitor_support import screen_text

    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_tab("monitor")  # every pane mounted: its keys are listed
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app)
        for binding in type(app).BINDINGS:
            if not binding.action.startswith("tab("):
                assert binding.description in text, binding
        for spec in PANES:
            assert f"{spec.title} tab" in text
        for words in ("Compact/detail", "Ack alert", "Diff A", "Rename"):  # Monitor, Sessions
            assert words in text
        box = app.screen.query_one("#help-box", VerticalScroll)
        await pilot.pause()
        assert app.screen.focused is box
        assert box.region.bottom <= 24 and box.region.right <= 80  # nothing cut off
        assert box.max_scroll_y > 0  # more than a screenful at 80x24: it must scroll
        await pilot.press("pagedown")
        assert box.scroll_y > 0
        await pilot.press("end")
        assert box.scroll_y == box.max_scroll_y
        await pilot.pause()
        assert "PCIe replays" in screen_text(app)  # the last alert rule: the end of the text, drawn
        await pilot.press("home")
        await pilot.pause()
        assert "Keys everywhere" in screen_text(app) and "ctrl+p" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_one_theme_command_max_num_seqs_in_the_sidebar_and_export_beside_the_file(session_file):
    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Theme" not in [c.title for c in app.get_system_commands(app.screen)]  # ours only
        await type_into(pilot, "#f-serving-max-num-seqs", "64")
        await settle(pilot)
        assert app.doc.session.serving.max_num_seqs == 64
        assert app.planning.session.serving.max_num_seqs == 64  # the plan on screen used it
        assert app.documents.export_default("md") == str(session_file.parent / "chat-70b.md")


async def test_choosing_an_h200_moves_the_server_along(session_file):
    from textual.widgets import Select

    app = make_app(session_file, offer_recovery=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one("#f-hardware-gpu", Select).value = "h200-sxm-141gb"  # as the picker does
        await settle(pilot)
        assert app.doc.session.hardware.server == "hgx-h200"
        assert app.query_one("#f-hardware-server", Select).value == "hgx-h200"
        assert app.report["hardware"]["server"] == "hgx-h200"


def test_help_draws_its_markdown_in_the_app_themes_colours():
    """Rich's own Markdown styles are cyan on black code and magenta titles, whatever the theme."""
    from rich.console import Console
    from rich.markdown import Markdown
    from textual.theme import BUILTIN_THEMES

    from tui.screens.help import _markdown_theme, _Themed

    class _App:
        current_theme = BUILTIN_THEMES["textual-light"]

    console = Console(width=60, color_system="truecolor")
    segments = list(console.render(_Themed(Markdown("## Keys\n\n| key | does |\n|---|---|\n| `v` | view |\n"),
                                           _markdown_theme(_App()))))
    key = next(seg for seg in segments if seg.text.strip() == "v")
    title = next(seg for seg in segments if seg.text.strip() == "Keys")
    assert key.style.color.triplet.hex == _App.current_theme.accent.lower()
    assert key.style.bgcolor is None  # no black box on a light theme
    assert title.style.color.triplet.hex == _App.current_theme.primary.lower()
