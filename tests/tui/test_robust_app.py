"""Issue 10 in the app, driven with Pilot as a user does: two instances on one file, a file
changed on disk between load and save (overwrite / reload), comments kept across ctrl+s, a state
dir that refuses (said on screen, the app still works), and a killed save's temp files cleaned
at the next start."""

from __future__ import annotations

from sessions import parse_session
from sessions.filesave import FileVersions
from tui.screens.robust_dialogs import FileChangedScreen

from .conftest import make_app, settle, type_into

COMMENTED = "# my notes on this plan\n"


async def test_two_instances_one_file_a_save_never_replaces_the_other_silently(session_file):
    a, b = make_app(session_file), make_app(session_file)
    async with a.run_test(size=(120, 40)) as pa:
        await settle(pa)
        await type_into(pa, "#f-serving-output-tokens", "111")
        await settle(pa)
        a._write_recovery()
        async with b.run_test(size=(120, 40)) as pb:
            await settle(pb)
            await type_into(pb, "#f-serving-output-tokens", "222")
            await settle(pb)
            await pb.press("ctrl+s")
            await settle(pb)
            assert not b.dirty and parse_session(session_file.read_text()).serving.output_tokens == 222
        assert a.recovery.read() is not None  # B's save left A's unsaved work alone

        await pa.press("ctrl+s")  # A saves: the file is not what A loaded
        await pa.pause()
        assert isinstance(a.screen, FileChangedScreen)
        assert parse_session(session_file.read_text()).serving.output_tokens == 222  # untouched so far
        await pa.press("o")  # overwrite, after being asked
        await settle(pa)
        assert parse_session(session_file.read_text()).serving.output_tokens == 111
        kept = [parse_session(v.read_text()).serving.output_tokens for v in FileVersions().list(session_file)]
        assert 222 in kept  # B's content is a version, not lost


async def test_reload_on_a_conflict_takes_the_file_as_it_is_now(session_file):
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "333")
        await settle(pilot)
        session_file.write_text(session_file.read_text().replace("output_tokens = 500", "output_tokens = 444"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FileChangedScreen)
        await pilot.press("r")
        await settle(pilot)
        assert app.doc.session.serving.output_tokens == 444 and not app.dirty
    assert "output_tokens = 444" in session_file.read_text()


async def test_comments_survive_a_save_from_the_app(session_file):
    text = session_file.read_text().replace("[serving]\n", f"{COMMENTED}[serving]  # the workload\n")
    session_file.write_text(text)
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#f-serving-output-tokens", "777")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = session_file.read_text()
    assert COMMENTED in saved and "[serving]  # the workload" in saved
    assert saved == text.replace("output_tokens = 500", "output_tokens = 777")


async def test_a_state_dir_that_refuses_is_said_and_the_app_works(private_home, session_file):
    (private_home / "state").write_text("not a directory")  # ENOTDIR for everything under it
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        banner = str(app._widgets["banner"].render())
        assert "recovery and the log are off" in banner
        await type_into(pilot, "#f-serving-output-tokens", "888")
        await settle(pilot)
        app._write_recovery()  # tries again, still refused, still said
        assert "recovery and the log are off" in str(app._widgets["banner"].render())
        await pilot.press("ctrl+s")  # saving the file itself still works
        await settle(pilot)
    assert parse_session(session_file.read_text()).serving.output_tokens == 888


async def test_a_killed_saves_temp_files_are_gone_after_the_next_start(private_home, session_file):
    dead = 999_999_999  # no such PID
    litter = [session_file.parent / f".{session_file.name}.{dead}.k2j3h4g5.tmp",
              private_home / "sessions" / f".chat.toml.{dead}.a1b2c3d4.tmp"]
    litter[1].parent.mkdir(parents=True)
    for path in litter:
        path.write_text("half a save")
    other = session_file.parent / f".someone-else.toml.{dead}.zzzzzzzz.tmp"  # not ours to judge
    other.write_text("x")
    app = make_app(session_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
    assert not any(p.exists() for p in litter) and other.exists()


def test_the_picker_says_when_a_user_entry_overrides_a_bundled_one(private_home):
    from catalogs import load_catalog
    from tui.model_index import catalog_entries, filter_entries

    d = private_home / "catalog"
    d.mkdir()
    (d / "models.toml").write_text(
        '[[model]]\nid = "llama-3.1-70b"\nsource = "mine"\n\n[model.config]\nmodel_type = "llama"\n'
        "num_hidden_layers = 2\nhidden_size = 256\nnum_attention_heads = 4\nvocab_size = 1000\n"
    )
    entries = catalog_entries(load_catalog(hf_cache=False))
    (hit,) = [e for e in filter_entries(entries, "llama-3.1-70b") if e.id == "llama-3.1-70b"]
    assert hit.origin == "user, overrides bundled"
