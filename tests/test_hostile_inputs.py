"""What a pre-commit hook or a CI job hands tpulint: a directory of good, broken and odd files.

* One bad file among many: every file is still checked and reported, each bad one with a one-line
  ``tpulint: error:`` and a TPU9xx code, and the exit code is 2.
* Nothing blocks: a named pipe called ``x.tflite`` is refused from ``fstat`` (opened non-blocking),
  a symlink loop inside a searched directory is searched once, a self-referencing link is reported.
* Files are never modified, whatever the output format (hash and mtime before and after).
* Paths with spaces, non-ASCII names, file and directory symlinks work.
* Unreadable files and directories give a clear one-line message. Tests run as root here, where
  ``chmod 000`` does not stop reads: the test then drops to the ``nobody`` user in a forked child
  (and is skipped, saying why, if the process may not change user).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.analyze import analyze_path, find_models, iter_model_paths
from tpulint.cli import app
from tpulint.context import Target
from tpulint.model import load_model

GOOD = FIXTURES / "int8_cnn.tflite"  # maps fully
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 4137888\n"
ONNX_HEAD = b"\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x10\n\x05input\x12\x07output" + bytes(64)
FORMATS = ("text", "concise", "json", "sarif", "github", "junit", "compiler-log")

runner = CliRunner()


def tpulint_exe() -> str:
    return shutil.which("tpulint") or str(Path(sys.executable).parent / "tpulint")


def run_subprocess(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The console script in a child process, so that a hang fails the test instead of blocking it."""
    return subprocess.run(
        [tpulint_exe(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def make_mixed_directory(root: Path) -> dict[str, str]:
    """A directory of good and bad inputs; returns {relative path: expected "ok" or error code}."""
    expected: dict[str, str] = {}
    nested = root / "sub dir" / "ünïcödé"
    nested.mkdir(parents=True)
    shutil.copy(GOOD, nested / "good model ü.tflite")
    expected["sub dir/ünïcödé/good model ü.tflite"] = "ok"
    data = GOOD.read_bytes()
    (root / "truncated.tflite").write_bytes(data[: len(data) // 3])
    expected["truncated.tflite"] = "TPU903"
    (root / "lfs.tflite").write_bytes(LFS_POINTER)
    expected["lfs.tflite"] = "TPU902"
    (root / "onnx.tflite").write_bytes(ONNX_HEAD)
    expected["onnx.tflite"] = "TPU902"
    (root / "empty.tflite").write_bytes(b"")
    expected["empty.tflite"] = "TPU902"
    (root / "link to good.tflite").symlink_to(nested / "good model ü.tflite")
    expected["link to good.tflite"] = "ok"
    (root / "broken.tflite").symlink_to(root / "nowhere.tflite")
    expected["broken.tflite"] = "TPU901"
    (root / "self.tflite").symlink_to(root / "self.tflite")
    expected["self.tflite"] = "TPU901"
    os.mkfifo(root / "pipe.tflite")
    expected["pipe.tflite"] = "TPU901"
    (root / "loop").mkdir()
    (root / "loop" / "up").symlink_to(root)  # a directory symlink loop
    (root / "notes.txt").write_text("not a model, not searched\n")
    (root / "dir.tflite").mkdir()  # a directory named like a model is searched, not read
    shutil.copy(GOOD, root / "dir.tflite" / "inner.tflite")
    expected["dir.tflite/inner.tflite"] = "ok"
    return expected


def test_one_bad_file_among_many_every_file_is_reported_exit_2(tmp_path: Path) -> None:
    expected = make_mixed_directory(tmp_path)
    result = run_subprocess("check", "-f", "json", str(tmp_path))
    assert result.returncode == 2, result.stderr
    models = {str(Path(m["path"]).relative_to(tmp_path)): m for m in json.loads(result.stdout)["models"]}
    assert set(models) == set(expected)  # each file once: the loop and the linked directory add nothing
    for name, outcome in expected.items():
        model = models[name]
        if outcome == "ok":
            assert model["ok"] is True and model["summary"]["outcome"] == "full", name
        else:
            assert model["ok"] is False and model["error"]["code"] == outcome, (name, model["error"])
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == sum(1 for outcome in expected.values() if outcome != "ok")
    assert all(line.startswith("tpulint: error: ") for line in errors)
    assert "Traceback" not in result.stderr
    messages = {
        str(Path(m["path"]).relative_to(tmp_path)): m["error"]["message"] for m in models.values() if m["error"]
    }
    assert "named pipe" in messages["pipe.tflite"]
    assert "broken symbolic link" in messages["broken.tflite"]
    assert "symbolic links" in messages["self.tflite"]
    assert "git lfs pull" in messages["lfs.tflite"]
    assert "ONNX" in messages["onnx.tflite"]
    assert "empty file" in messages["empty.tflite"]
    assert "truncated" in messages["truncated.tflite"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reports_the_mixed_directory(tmp_path: Path, fmt: str) -> None:
    """Every emitter, per-file ignores and the baseline handle broken links and symlink loops
    (``Path.resolve()`` raises on a loop; a relative path for SARIF must not)."""
    models = tmp_path / "models"
    models.mkdir()
    make_mixed_directory(models)
    config = tmp_path / "tpulint.toml"
    config.write_text('[per-file-ignores]\n"**/self.tflite" = ["TPU3"]\n"link*.tflite" = ["TPU5"]\n')
    baseline = tmp_path / "baseline.json"
    written = run_subprocess("baseline", "write", str(models), "-o", str(baseline), "--config", str(config))
    assert "Traceback" not in written.stderr, written.stderr
    assert baseline.is_file(), written.stderr
    result = run_subprocess(
        "check", "-f", fmt, "--no-color", "--config", str(config), "--baseline", str(baseline), str(models)
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout
    assert all(line.startswith("tpulint: error: ") for line in result.stderr.splitlines() if line.strip())


def test_fifo_given_explicitly_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "x.tflite"
    os.mkfifo(fifo)
    result = run_subprocess("check", str(fifo), "--no-color", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"tpulint: error: {fifo}: is a named pipe (FIFO), not a regular file: " + (
        "tpulint reads model files only"
    )


def test_special_files_are_refused_from_fstat() -> None:
    with pytest.raises(Exception, match="character device, not a regular file"):
        load_model(os.devnull)


def test_symlink_loops_are_searched_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(GOOD, tmp_path / "a" / "m.tflite")
    (tmp_path / "a" / "back").symlink_to(tmp_path)
    (tmp_path / "a" / "again").symlink_to(tmp_path / "a")
    (tmp_path / "b").symlink_to(tmp_path / "a")  # a second name for a directory: searched once
    assert find_models(tmp_path) == [tmp_path / "a" / "m.tflite"]
    # Given explicitly, a directory symlink is searched under its own name.
    assert [p for p, _ in iter_model_paths([tmp_path / "b"])] == [tmp_path / "b" / "m.tflite"]


def test_paths_with_spaces_unicode_and_symlinks(tmp_path: Path) -> None:
    folder = tmp_path / "my models ✓"
    folder.mkdir()
    model = folder / "mobile net ü.tflite"
    shutil.copy(GOOD, model)
    link = tmp_path / "link ü.tflite"
    link.symlink_to(model)
    folder_link = tmp_path / "linked folder"
    folder_link.symlink_to(folder, target_is_directory=True)
    for given, shown in ((model, model), (link, link), (folder_link, folder_link / model.name)):
        result = runner.invoke(app, ["check", "-f", "json", str(given)])
        assert result.exit_code == 0, result.stderr
        (report,) = json.loads(result.stdout)["models"]
        assert report["path"] == str(shown) and report["ok"] is True


def _fingerprints(root: Path) -> dict[str, tuple[str, int, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            out[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_mode)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_input_files_are_never_modified(tmp_path: Path, fmt: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("int8_cnn.tflite", "unsupported_mid.tflite", "float_cnn.tflite"):
        shutil.copy(FIXTURES / name, models / name)
    compiled = sorted((FIXTURES / "compiled").rglob("*_edgetpu.tflite"))
    if compiled:
        shutil.copy(compiled[0], models / compiled[0].name)
    (models / "bad.tflite").write_bytes(GOOD.read_bytes()[:500])
    (models / "lfs.tflite").write_bytes(LFS_POINTER)
    for path in models.iterdir():
        path.chmod(0o444)  # read-only, as in a checkout with strict permissions
    before = _fingerprints(models)
    listing = sorted(p.name for p in models.iterdir())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for extra in ([], ["-o", str(out_dir / f"report.{fmt}")]):
        result = runner.invoke(app, ["check", "-f", fmt, "--no-color", *extra, str(models)])
        assert result.exit_code == 2, result.stderr  # two unreadable inputs
        assert "Traceback" not in result.stderr
    assert _fingerprints(models) == before
    assert sorted(p.name for p in models.iterdir()) == listing  # nothing written beside the models
    assert (out_dir / f"report.{fmt}").stat().st_size > 0


# ---- unreadable files and directories ------------------------------------------------------------------


def test_permission_denied_file_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message path, on any platform and user: os.open raising EACCES."""
    model = tmp_path / "locked.tflite"
    shutil.copy(GOOD, model)
    real_open = os.open

    def deny(path: object, *args: object, **kwargs: object) -> int:
        if str(path) == str(model):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    report = analyze_path(model, Target())
    assert report.ok is False and report.error == {"code": "TPU901", "message": f"{model}: permission denied"}


def test_unlistable_directory_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(GOOD, tmp_path / "good.tflite")
    real_scandir = os.scandir

    def deny(path: object = ".") -> Iterator[os.DirEntry[str]]:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(os, "scandir", deny)
    found = find_models(tmp_path)
    assert found == [tmp_path / "good.tflite", locked]
    report = analyze_path(locked, Target())
    assert report.ok is False and report.error is not None
    assert report.error == {
        "code": "TPU901",
        "message": f"{locked}: permission denied: cannot list this directory's files",
    }


def _locked_tree() -> tuple[Path, Path, Path]:
    """A world-traversable temp dir with a good model, a chmod-000 model and a chmod-000 directory."""
    root = Path(tempfile.mkdtemp(prefix="tpulint-perm-", dir="/tmp"))
    root.chmod(0o755)
    shutil.copy(GOOD, root / "good.tflite")
    (root / "good.tflite").chmod(0o644)
    locked_file = root / "locked.tflite"
    shutil.copy(GOOD, locked_file)
    locked_file.chmod(0)
    locked_dir = root / "locked dir"
    locked_dir.mkdir()
    shutil.copy(GOOD, locked_dir / "hidden.tflite")
    locked_dir.chmod(0)
    return root, locked_file, locked_dir


def _check_locked_tree(root: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", "-f", "json", str(root)])
    return result.exit_code, result.stdout, result.stderr


def _run_as_nobody(root: Path) -> tuple[int, str, str]:
    """Run the check in a forked child that has dropped root; the parent collects its result."""
    _check_locked_tree(root)  # warm up as root: every lazily imported module is loaded before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                os.chdir(root)  # the checkout may sit where nobody cannot read
                payload = json.dumps(list(_check_locked_tree(root)))
            except PermissionError as error:
                payload = json.dumps({"skip": f"cannot drop root privileges here: {error}"})
            except BaseException as error:  # report, never run the parent's pytest code in the child
                payload = json.dumps({"error": f"{type(error).__name__}: {error}"})
            with os.fdopen(write_end, "w") as stream:
                stream.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as stream:
        payload = stream.read()
    os.waitpid(pid, 0)
    result = json.loads(payload)
    if isinstance(result, dict) and "skip" in result:
        pytest.skip(result["skip"])
    assert not (isinstance(result, dict) and "error" in result), result
    code, out, err = result
    return int(code), str(out), str(err)


def test_unreadable_file_and_directory_with_chmod_000() -> None:
    if not hasattr(os, "fork") or not hasattr(os, "geteuid"):
        pytest.skip("needs POSIX permissions")
    root, locked_file, locked_dir = _locked_tree()
    try:
        if os.geteuid() == 0:
            code, out, err = _run_as_nobody(root)  # root reads chmod-000 files: test as nobody
        else:
            code, out, err = _check_locked_tree(root)
    finally:
        for path in (locked_dir, locked_file):
            path.chmod(stat.S_IRWXU)
        shutil.rmtree(root)
    assert code == 2, err
    models = {m["path"]: m for m in json.loads(out)["models"]}
    assert models[str(root / "good.tflite")]["ok"] is True
    assert models[str(locked_file)]["error"] == {"code": "TPU901", "message": f"{locked_file}: permission denied"}
    assert models[str(locked_dir)]["error"]["message"] == (
        f"{locked_dir}: permission denied: cannot list this directory's files"
    )
    errors = [line for line in err.splitlines() if line.strip()]
    assert sorted(errors) == sorted(
        [
            f"tpulint: error: {locked_file}: permission denied",
            f"tpulint: error: {locked_dir}: permission denied: cannot list this directory's files",
        ]
    )
