"""Atomic saves, the session store (versions, rename, trash) and the recovery file."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from sessions import dump_session, parse_session, save_session
from catalogs.files import atomic_write_text
from sessions.store import InvalidSessionName, RecoveryFile, SessionStore, check_name


@pytest.fixture
def session(default_text):
    return parse_session(default_text)


@pytest.fixture
def store(tmp_path):
    return SessionStore(tmp_path / "sessions", max_versions=3)


# -- atomic writes -------------------------------------------------------------------------


@pytest.mark.parametrize("fail", ["replace", "fsync", "write"])
def test_a_failed_save_leaves_the_original_intact(tmp_path, monkeypatch, session, fail):
    path = tmp_path / "mine.toml"
    path.write_text("# my hand-written file\n")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fail == "write":  # fail half way: some bytes of the temp file are already written
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fd, mode):
                self.handle = real_fdopen(fd, mode)

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                boom()

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

        monkeypatch.setattr(os, "fdopen", HalfWriter)
    else:
        monkeypatch.setattr(os, fail, boom)
    with pytest.raises(OSError):
        save_session(session, path)
    monkeypatch.undo()
    assert path.read_text() == "# my hand-written file\n"
    assert os.listdir(tmp_path) == ["mine.toml"]  # no temp file left behind


def test_a_new_file_gets_ordinary_permissions(tmp_path):
    path = atomic_write_text(tmp_path / "new.toml", "x = 1\n")
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_directory_is_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.path.isdir(f"/proc/self/fd/{fd}")), real(fd)))
    atomic_write_text(tmp_path / "f.toml", "x = 1\n")
    assert synced == [False, True]  # the file, then its directory


# -- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", " ", ".", "..", ".hidden", "a/b", "a\\b", "../up", "x\x00y", "tab\tname", "c:d"])
def test_unsafe_names_are_refused(store, session, bad):
    with pytest.raises(InvalidSessionName):
        store.save(session, bad)


def test_names_may_have_spaces_and_drop_a_toml_suffix():
    assert check_name("my plan.toml") == "my plan"


# -- sessions ------------------------------------------------------------------------------


def test_root_from_gpuplan_home(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path))
    assert SessionStore().root == tmp_path / "sessions"
    assert RecoveryFile().path.parent == tmp_path / "state"
    monkeypatch.delenv("GPUPLAN_HOME")
    assert SessionStore().root.name == "sessions" and "gpuplan" in str(SessionStore().root)


def test_save_list_load(store, session):
    assert store.list() == []
    path = store.save(session)
    assert path == store.root / "chat-8b.toml"
    [entry] = store.list()
    assert entry.name == "chat-8b" and entry.path == path and entry.mtime.tzinfo is UTC
    assert store.load("chat-8b") == session


def test_every_save_keeps_the_previous_version_bounded(store, session):
    store.save(session)
    assert store.versions("chat-8b") == []
    texts = [dump_session(session)]
    for rps in (1, 2, 3, 4, 5):
        changed = session.model_copy(update={"serving": session.serving.model_copy(update={"requests_per_second": float(rps)})})
        store.save(changed, "chat-8b")
        texts.append(dump_session(changed))
        os.utime(store.path("chat-8b"), (time.time() + rps, time.time() + rps))  # distinct mtimes
    versions = store.versions("chat-8b")
    assert len(versions) == 3  # max_versions
    assert [v.id for v in versions] == sorted((v.id for v in versions), reverse=True)
    assert all(isinstance(v.saved_at, datetime) for v in versions)
    # newest version = the contents before the last save
    assert store.load_version("chat-8b", versions[0].id).serving.requests_per_second == 4.0
    assert store.load_version("chat-8b", versions[-1].id).serving.requests_per_second == 2.0
    assert store.load("chat-8b").serving.requests_per_second == 5.0


def test_identical_save_adds_no_version(store, session):
    store.save(session)
    store.save(session)
    assert store.versions("chat-8b") == []


def test_versions_of_a_hand_broken_file_are_kept_verbatim(store, session):
    path = store.save(session)
    path.write_text("this is [not toml\n")
    store.save(session)
    [version] = store.versions("chat-8b")
    assert store.version_path("chat-8b", version.id).read_text() == "this is [not toml\n"


def test_prune_and_restore(store, session):
    store.save(session)
    other = session.model_copy(update={"name": "renamed inside"})
    store.save(other, "chat-8b")
    [v] = store.versions("chat-8b")
    store.restore_version("chat-8b", v.id)
    assert store.load("chat-8b") == session
    assert len(store.versions("chat-8b")) == 2
    assert len(store.prune("chat-8b", keep=0)) == 2 and store.versions("chat-8b") == []


def test_unknown_version_ids_are_refused(store, session):
    store.save(session)
    for bad in ("../../chat-8b", "20200101T000000.000000Z", "x"):
        with pytest.raises(KeyError):
            store.load_version("chat-8b", bad)


def test_rename_moves_history_and_never_clobbers(store, session):
    store.save(session)
    store.save(session.model_copy(update={"name": "v2"}), "chat-8b")
    store.save(session, "other")
    with pytest.raises(FileExistsError):
        store.rename("chat-8b", "other")
    store.rename("chat-8b", "chat-8b-v2")
    assert not store.exists("chat-8b") and store.load("chat-8b-v2").name == "v2"
    assert len(store.versions("chat-8b-v2")) == 1 and store.versions("chat-8b") == []
    with pytest.raises(FileNotFoundError):
        store.rename("chat-8b", "again")


def test_delete_moves_to_the_trash(store, session):
    store.save(session)
    store.save(session.model_copy(update={"name": "v2"}), "chat-8b")
    trashed = store.delete("chat-8b")
    assert not store.exists("chat-8b") and store.list() == []
    assert trashed.is_file() and parse_session(trashed.read_text()).name == "v2"
    assert len(list(trashed.parent.glob("*.versions/*.toml"))) == 1
    assert store.empty_trash(older_than_days=1) == 0  # too recent
    assert store.empty_trash(older_than_days=-1) == 2
    with pytest.raises(FileNotFoundError):
        store.delete("chat-8b")


# -- recovery ------------------------------------------------------------------------------


def test_recovery_round_trip(tmp_path, default_text):
    recovery = RecoveryFile(tmp_path / "state" / "recovery.json")
    assert recovery.read() is None
    before = datetime.now(UTC)
    recovery.write(default_text, tmp_path / "mine.toml")
    text, origin, saved_at = recovery.read()
    assert text == default_text and origin == str(tmp_path / "mine.toml")
    assert before <= saved_at <= datetime.now(UTC)
    recovery.write("unsaved = [", None)  # even a broken edit is recoverable text
    assert recovery.read() == ("unsaved = [", None, recovery.read().saved_at)
    recovery.clear()
    assert recovery.read() is None
    recovery.clear()  # idempotent


def test_a_corrupt_recovery_file_reads_as_none(tmp_path):
    path = tmp_path / "recovery.json"
    for junk in ("", "{", '{"text": 1, "saved_at": "2024-01-01T00:00:00+00:00"}', "[]", '{"text": "x"}'):
        path.write_text(junk)
        assert RecoveryFile(path).read() is None
