"""The document's files (tui.file_safety, plain Python): every load and save of the app goes
through it, so these are the app's rules without a screen."""

from __future__ import annotations

import pytest

from sessions import example_text, parse_session, update_session
from sessions.filesave import FileChangedError
from sessions.recovery import RecoveryStore
from sessions.store import SessionStore
from tui.file_safety import FileSafety


@pytest.fixture
def make(tmp_path):
    def make() -> FileSafety:
        p = FileSafety(SessionStore(tmp_path / "sessions"), RecoveryStore(tmp_path / "state" / "recovery"))
        p.start()
        return p

    return make


def test_two_instances_saving_one_file(make, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(example_text("default"))
    a, b = make(), make()
    sa, sb = a.open_file(path), b.open_file(path)
    b.save_file(update_session(sb, {"serving.output_tokens": 111}), path)
    assert a.changed_on_disk(path)
    with pytest.raises(FileChangedError):
        a.save_file(update_session(sa, {"serving.output_tokens": 222}), path)
    assert parse_session(path.read_text()).serving.output_tokens == 111
    a.save_file(update_session(sa, {"serving.output_tokens": 222}), path, overwrite=True)  # after asking
    assert parse_session(path.read_text()).serving.output_tokens == 222
    assert len(a.versions.list(path)) == 2  # the original, and B's save that A replaced


def test_two_instances_saving_one_stored_session(make):
    a, b = make(), make()
    base = parse_session(example_text("default"))
    a.save_stored(base, "chat", new=True)
    sb = b.open_stored("chat")
    b.save_stored(update_session(sb, {"serving.output_tokens": 5}), "chat")
    with pytest.raises(FileChangedError):
        a.save_stored(update_session(base, {"serving.output_tokens": 6}), "chat")
    b.save_stored(base, "fresh", new=True)
    with pytest.raises(FileChangedError):  # "save as" a new name another instance just took
        a.save_stored(base, "fresh", new=True)


def test_start_reports_a_state_dir_that_refuses(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state dir should be")
    p = FileSafety(SessionStore(tmp_path / "sessions"), RecoveryStore(blocker / "recovery"))
    report = p.start()
    assert report.problem and report.problem.startswith("recovery and the log are off:")
    assert not p.write_recovery("x", None) and p.problem
