"""The output folder of ``hwgen generate``: never a user's folder lost, never a half-written
project, one winner between concurrent runs, staging folders gone after SIGTERM and swept after
SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import onnx_factory as F
from hwgen import outdir
from hwgen.cli import main
from hwgen.errors import HwgenError

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return F.write(F.tiny_classifier(), tmp_path_factory.mktemp("m") / "tiny.onnx")


def generate(capsys, model, out, *extra) -> tuple[int, str]:
    code = main(["generate", str(model), "-o", str(out), "--vectors", "1", *map(str, extra)])
    return code, capsys.readouterr().err


def leftovers(out: Path) -> list[Path]:
    return list(out.parent.glob(f".{out.name}.*"))


def test_force_refuses_a_user_folder(tmp_path, capsys, tiny_model):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.tex").write_text("years of work")
    t = time.perf_counter()
    code, err = generate(capsys, tiny_model, user, "--force")
    assert code == 2 and err.count("\n") == 1 and "not an hwgen project" in err
    assert time.perf_counter() - t < 5  # refused before the model is even read
    assert (user / "chapter1.tex").read_text() == "years of work"
    # a file that merely has the marker's name but is not hwgen's is no project either
    (user / outdir.PROJECT_FILE).write_text("my notes")
    assert generate(capsys, tiny_model, user, "--force")[0] == 2
    assert sorted(p.name for p in user.iterdir()) == ["chapter1.tex", outdir.PROJECT_FILE]


def test_force_replaces_a_project_and_refuses_without_it(tmp_path, capsys, tiny_model):
    out = tmp_path / "p"
    assert generate(capsys, tiny_model, out)[0] == 0
    (out / "stale.txt").write_text("from the old project")
    code, err = generate(capsys, tiny_model, out)
    assert code == 2 and "--force" in err and (out / "stale.txt").exists()
    assert generate(capsys, tiny_model, out, "--force")[0] == 0
    assert not (out / "stale.txt").exists() and outdir.is_project(out)
    assert leftovers(out) == []


def test_a_file_or_symlink_is_refused(tmp_path, capsys, tiny_model):
    f = tmp_path / "f"
    f.write_text("x")
    assert generate(capsys, tiny_model, f, "--force")[0] == 2 and f.read_text() == "x"
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    code, err = generate(capsys, tiny_model, link, "--force")
    assert code == 2 and "symbolic link" in err


def test_unwritable_places_are_refused_before_work(tmp_path, capsys, tiny_model, monkeypatch):
    """A read-only or full file system: one line, exit 2, nothing left (as root, permissions do
    not stop writes, so the file system's answer is injected)."""
    import errno
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    code, err = generate(capsys, tiny_model, tmp_path / "ro")
    assert code == 2 and err.count("\n") == 1 and "Read-only file system" in err
    monkeypatch.undo()

    real = Path.write_bytes
    count = {"n": 0}

    def full_disk(self, data):
        count["n"] += 1
        if count["n"] > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    out = tmp_path / "full"
    code, err = generate(capsys, tiny_model, out)
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err
    assert not out.exists() and leftovers(out) == []


RACE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hwgen import outdir
    out, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    move = outdir._move_into_place
    def both_ready(*args):  # both runs have staged their project: now race for the folder
        (out.parent / me).touch()
        while not (out.parent / other).exists():
            time.sleep(0.01)
        return move(*args)
    outdir._move_into_place = both_ready
    files = {outdir.PROJECT_FILE: '{"hwgen": "test"}', "who": me}
    try:
        outdir.write_project(out, files, force=False)
        print("won")
    except outdir.HwgenError as exc:
        print("lost:", exc)
""")


def test_concurrent_runs_into_one_new_folder_have_one_winner(tmp_path):
    out = tmp_path / "p"
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(out), a, b], env=env,
                              stdout=subprocess.PIPE, text=True)
             for a, b in (("a", "b"), ("b", "a"))]
    results = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(r.split(":")[0] for r in results) == ["lost", "won"], results
    winner = "ab"[[r == "won" for r in results].index(True)]
    assert (out / "who").read_text() == winner
    assert "appeared while this run was writing" in [r for r in results if r != "won"][0]
    assert leftovers(out) == []


SLOW_WRITE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hwgen.cli import main
    real, n = Path.write_text, [0]
    def slow(self, *a, **k):  # the write goes on long enough to be interrupted
        n[0] += 1
        if n[0] == 3:
            print("writing", flush=True)
            time.sleep(60)
        return real(self, *a, **k)
    Path.write_text = slow
    sys.exit(main(["generate", sys.argv[1], "-o", sys.argv[2], "--vectors", "1"]))
""")


def interrupted_generate(model: Path, out: Path, sig: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    p = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, str(model), str(out)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    assert leftovers(out), "the run writes in a staging folder beside the target"
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=30)
    return subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)


def test_sigterm_during_the_write_leaves_nothing(tmp_path, tiny_model):
    out = tmp_path / "p"
    proc = interrupted_generate(tiny_model, out, signal.SIGTERM)
    assert proc.returncode == 143 and proc.stderr.strip().endswith("hwgen: terminated")
    assert not out.exists() and leftovers(out) == []


def test_sigkill_leftovers_are_swept_by_the_next_run(tmp_path, capsys, tiny_model):
    out = tmp_path / "p"
    proc = interrupted_generate(tiny_model, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    stale = leftovers(out)
    assert stale and not out.exists()
    assert generate(capsys, tiny_model, out)[0] == 0
    assert outdir.is_project(out) and leftovers(out) == []


def test_a_live_writers_staging_is_left_alone(tmp_path):
    """The sweep removes only staging folders whose writer died: a held lock is a live one."""
    import fcntl

    out = tmp_path / "p"
    stage = tmp_path / ".p.hwgen-live"
    stage.mkdir()
    lock = stage / outdir.LOCK_FILE
    lock.touch()
    with open(lock) as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        outdir.sweep(out)
        assert stage.is_dir()
    outdir.sweep(out)
    assert not stage.exists()


def test_killed_mid_replace_puts_the_old_project_back(tmp_path):
    """SIGKILL between moving the old project away and moving the new one in: the old one
    is still in the dead staging folder, and the sweep restores it."""
    out = tmp_path / "p"
    stage = tmp_path / ".p.hwgen-dead"
    (stage / "old").mkdir(parents=True)
    (stage / outdir.LOCK_FILE).touch()
    (stage / "old" / outdir.PROJECT_FILE).write_text(json.dumps({"hwgen": "old"}))
    outdir.sweep(out)
    assert json.loads((out / outdir.PROJECT_FILE).read_text()) == {"hwgen": "old"}
    assert not stage.exists()


def test_write_project_refuses_what_check_output_refuses(tmp_path):
    (tmp_path / "u").mkdir()
    with pytest.raises(HwgenError, match="not an hwgen project"):
        outdir.write_project(tmp_path / "u", {"a": "b"}, force=True)
