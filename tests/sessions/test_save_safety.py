"""Issue 10 items 1-5: a save never silently replaces an edit made on disk, keeps what it
replaces as a version and the user's comments, and a save killed mid-write leaves nothing that
the next start does not clean up. Recovery is per instance and survives other instances."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from catalogs.files import clean_stale_temps, stale_temp_files
from sessions import example_text, parse_session, update_session
from sessions.filesave import FileChangedError, FileVersions, changed_on_disk, open_file, save_file
from sessions.recovery import RecoveryStore
from sessions.store import SessionStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUPLAN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def session_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(example_text("default"))
    return path


def edited(session, **changes):
    return update_session(session, {k.replace("__", "."): v for k, v in changes.items()})


# -- item 2: changed on disk between load and save -------------------------------------------------

def test_a_file_changed_on_disk_is_not_overwritten(session_file):
    mine = open_file(session_file)
    theirs = session_file.read_text().replace("output_tokens = 300", "output_tokens = 999")
    session_file.write_text(theirs)
    assert changed_on_disk(mine)
    with pytest.raises(FileChangedError) as info:
        save_file(edited(mine.session, serving__prompt_tokens=77), session_file, loaded=mine)
    assert str(session_file) in str(info.value) and "changed on disk" in str(info.value)
    assert session_file.read_text() == theirs  # untouched


def test_overwrite_after_asking_keeps_the_replaced_content_as_a_version(session_file, home):
    mine = open_file(session_file)
    theirs = "this is = [ not even valid TOML\n"  # an external edit still being typed (watch mode)
    session_file.write_text(theirs)
    saved = save_file(edited(mine.session, serving__prompt_tokens=77), session_file, loaded=mine, overwrite=True)
    assert parse_session(session_file.read_text()).serving.prompt_tokens == 77
    (version,) = FileVersions().list(session_file)
    assert version.read_text() == theirs and str(version).startswith(str(home / "state"))
    assert not changed_on_disk(saved)  # the next save compares with what we wrote


def test_a_touch_without_a_change_is_not_a_conflict(session_file):
    mine = open_file(session_file)
    os.utime(session_file, (time.time() + 5, time.time() + 5))
    save_file(edited(mine.session, serving__prompt_tokens=77), session_file, loaded=mine)


def test_two_editors_of_a_stored_session(tmp_path):
    store = SessionStore(tmp_path / "sessions")
    base = parse_session(example_text("default"))
    store.save(base, "shared")
    a_saw = store.fingerprint("shared")
    b_saw = store.fingerprint("shared")
    store.save(edited(base, serving__output_tokens=111), "shared", expected=b_saw)
    with pytest.raises(FileChangedError):
        store.save(edited(base, serving__output_tokens=222), "shared", expected=a_saw)
    assert store.load("shared").serving.output_tokens == 111
    with pytest.raises(FileChangedError):  # "new" but someone created it meanwhile
        store.save(base, "shared", expected=None)


# -- item 3: comments and layout kept ---------------------------------------------------------------

def test_comments_order_and_formatting_survive_a_save(session_file):
    original = session_file.read_text()
    mine = open_file(session_file)
    save_file(edited(mine.session, serving__output_tokens=321), session_file, loaded=mine)
    new = session_file.read_text()
    changed = [(a, b) for a, b in zip(original.splitlines(), new.splitlines()) if a != b]
    assert len(original.splitlines()) == len(new.splitlines())
    assert changed == [(
        "output_tokens = 300          # average response length",
        "output_tokens = 321          # average response length",
    )]
    assert "memory_fraction = 0.90" in new  # unchanged values keep their spelling


def test_added_and_removed_keys_touch_only_their_lines(session_file):
    mine = open_file(session_file)
    s = edited(mine.session, scenarios__minimum__headroom=0.1)
    s = update_session(s, {"serving.max_model_len": None})
    save_file(s, session_file, loaded=mine)
    new = session_file.read_text()
    assert "max_model_len" not in new and "[scenarios.minimum]\nheadroom = 0.1" in new
    assert "# TensorRT-LLM free_gpu_memory_fraction" in new
    assert parse_session(new) == s


# -- item 5: a save killed mid-write, and the next start ----------------------------------------

KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    import catalogs.files as files
    real_replace = os.replace
    def stall(src, dst):
        print("written", flush=True)
        time.sleep(60)
    files.os.replace = stall
    files.atomic_write_bytes(sys.argv[1], b"half of a save")
""")


def test_sigkill_during_save_then_the_next_start_cleans_the_temp_file(tmp_path, session_file):
    original = session_file.read_bytes()
    leftovers = []
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(session_file)],
                                 cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "written\n"
        temps = stale_temp_files(tmp_path, target=session_file.name)
        assert not [t for t in temps if f".{child.pid}." in t.name]  # a save in progress is left alone
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        child.stdout.close()
        leftovers = sorted(tmp_path.glob(f".{session_file.name}.*.tmp"))
    assert len(leftovers) == 3 and session_file.read_bytes() == original  # never torn
    assert clean_stale_temps(tmp_path, target=session_file.name) == leftovers
    assert not list(tmp_path.glob(".*.tmp"))
    # the next open + save cleans too (the opened file's folder)
    (tmp_path / f".{session_file.name}.999999999.abcdefgh.tmp").write_text("x")
    mine = open_file(session_file)
    save_file(mine.session, session_file, loaded=mine)
    assert not list(tmp_path.glob(".*.tmp"))


def test_old_style_temp_files_are_removed_once_old(tmp_path):
    old = tmp_path / ".a.toml.k2j3h4g5.tmp"
    old.write_text("x")
    assert clean_stale_temps(tmp_path) == []
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert clean_stale_temps(tmp_path) == [old]


# -- items 1 and 4: recovery per instance, and a state dir that refuses it ------------------------

def test_another_instances_save_never_deletes_my_recovery(tmp_path):
    a, b = RecoveryStore(tmp_path / "rec"), RecoveryStore(tmp_path / "rec")
    a.start(), b.start()
    assert a.write("a's unsaved work", "/x/a.toml") and b.write("b's unsaved work", None)
    b.clear()  # B saves (or discards)
    a._lock_fd and os.close(a._lock_fd)  # A is killed: its lock goes, its record stays
    a._lock_fd = None
    c = RecoveryStore(tmp_path / "rec")
    c.start()
    (found,) = c.pending()
    assert found.text == "a's unsaved work" and found.where == "/x/a.toml"
    assert b.pending() == [found]  # B sees it too: A is gone
    c.resolve(found)
    assert c.pending() == [] and not list((tmp_path / "rec").glob(f"{a.instance}.*"))


def test_a_live_instance_is_never_offered_as_recovery(tmp_path):
    a, b = RecoveryStore(tmp_path / "rec"), RecoveryStore(tmp_path / "rec")
    a.start()
    a.write("live work", None)
    b.start()
    assert b.pending() == []


DEAD_INSTANCE = textwrap.dedent("""
    import os, sys
    from sessions.recovery import RecoveryStore
    r = RecoveryStore(sys.argv[1])
    r.start()
    r.write(sys.argv[2], sys.argv[3] if sys.argv[3] != "-" else None)
    os._exit(0)  # no clean-up at all, like a kill -9
""")


def test_every_orphan_is_offered_newest_first_naming_its_origin(tmp_path):
    for text, origin in (("first", "/srv/a.toml"), ("second", "store:chat"), ("third", "-")):
        subprocess.run([sys.executable, "-c", DEAD_INSTANCE, str(tmp_path / "rec"), text, origin], cwd=ROOT, check=True)
        time.sleep(0.01)
    found = RecoveryStore(tmp_path / "rec").pending()
    assert [f.text for f in found] == ["third", "second", "first"]
    assert [f.where for f in found] == ["a new, never saved session", "saved session 'chat'", "/srv/a.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_state_dir_turns_recovery_off_and_says_why(tmp_path):
    state = tmp_path / "ro"
    state.mkdir()
    state.chmod(0o500)
    try:
        r = RecoveryStore(state / "recovery")
        assert not r.start().ok and "Permission denied" in r.status.reason
        assert not r.write("x", None) and "recovery off" in str(r.status)
    finally:
        state.chmod(0o700)


def test_full_disk_turns_recovery_off_keeps_saying_it_and_recovers(tmp_path, monkeypatch):
    import sessions.recovery as recovery

    r = RecoveryStore(tmp_path / "rec")
    assert r.start().ok
    real = recovery.atomic_write_text

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(recovery, "atomic_write_text", full)
    for n in range(3):
        assert not r.write(f"edit {n}", None)
        assert "No space left on device" in str(r.status)
    monkeypatch.setattr(recovery, "atomic_write_text", real)
    assert r.write("edit 3", None) and r.status.ok


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def tmpfs(tmp_path):
    mounted = []

    def mount(name: str, options: str) -> Path:
        where = tmp_path / name
        if not _mount_tmpfs(where, options):
            pytest.skip("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN); the injected ENOSPC test covers it")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_read_only_tmpfs_state_dir(tmpfs):
    state = tmpfs("ro", "ro,size=64k")
    r = RecoveryStore(state / "recovery")
    assert not r.start().ok and "Read-only file system" in r.status.reason
    assert not r.write("x", None) and r.pending() == []


def test_full_tmpfs_state_dir(tmpfs):
    state = tmpfs("full", "size=64k")
    r = RecoveryStore(state / "recovery")
    assert r.start().ok
    fd = os.open(state / "filler", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(OSError):  # fill the disk
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    assert not r.write("x" * 20000, None) and "No space left on device" in r.status.reason
    assert not list((state / "recovery").glob(".*.tmp"))  # the failed write left no temp file
    (state / "filler").unlink()
    assert r.write("x" * 20000, None) and r.status.ok
