"""The pre-commit hooks, run by the real `pre-commit` tool in a temporary git repository.

* ``.pre-commit-hooks.yaml`` passes ``pre-commit validate-manifest``;
* the ``tpulint`` hook, installed with ``pre-commit install`` from a local config that copies the
  manifest's file filters, blocks a commit of a model that does not map and lets one that maps through;
* ``pre-commit try-repo`` installs the hook exactly as users get it (``language: python``: pre-commit
  builds a virtualenv and pip-installs tpulint from a git repository) and fails/passes the same models.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
TPULINT = Path(sys.executable).parent / "tpulint"
MANIFEST = ROOT / ".pre-commit-hooks.yaml"


def _need_tools() -> None:
    if not PRE_COMMIT.is_file():
        pytest.skip(f"pre-commit is not installed beside {sys.executable} (pip install -e '.[test]')")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(home),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,  # HOME stays: pip's cache makes the hook install fast
        # the hook's own environment must find the tpulint console script of this interpreter
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    )
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _git_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    _run(["git", "init", "-q", "-b", "main"], path, env).check_returncode()
    return path


def _hooks() -> dict[str, dict[str, object]]:
    return {h["id"]: h for h in yaml.safe_load(MANIFEST.read_text())}


def test_manifest_is_valid_and_declares_both_hooks(tmp_path: Path) -> None:
    _need_tools()
    r = _run([str(PRE_COMMIT), "validate-manifest", str(MANIFEST)], ROOT, _env(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    hooks = _hooks()
    lint = hooks["tpulint"]
    assert lint["entry"] == "tpulint check" and lint["language"] == "python"
    assert lint["files"] == r"\.tflite$" and lint["types"] == ["binary"] and lint["pass_filenames"] is True
    comp = hooks["tpulint-compile"]
    assert comp["language"] == "system" and str(comp["entry"]).startswith("tpulint compile")


def test_installed_hook_blocks_a_model_that_does_not_map(tmp_path: Path) -> None:
    """`pre-commit install` + `git commit`: the commit of unsupported_mid.tflite is refused."""
    _need_tools()
    if not TPULINT.is_file():
        pytest.skip(f"the tpulint console script is not installed beside {sys.executable}")
    env = _env(tmp_path / "home")
    repo = _git_repo(tmp_path / "repo", env)
    hook = dict(_hooks()["tpulint"])
    hook.update(language="system", entry=f"{TPULINT} check")  # the installed tpulint, no network needed
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
    (repo / "README.md").write_text("models\n")
    _run(["git", "add", "."], repo, env).check_returncode()
    _run(["git", "commit", "-q", "-m", "init"], repo, env).check_returncode()
    r = _run([str(PRE_COMMIT), "install"], repo, env)
    assert r.returncode == 0, r.stdout + r.stderr

    shutil.copy(FIXTURES / "unsupported_mid.tflite", repo / "bad.tflite")
    _run(["git", "add", "bad.tflite"], repo, env).check_returncode()
    r = _run(["git", "commit", "-m", "add a model that does not map"], repo, env)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "tpulint" in out and "Failed" in out and "TPU101" in out and "LEAKY_RELU" in out
    assert "\x1b[" not in out  # PRE_COMMIT=1: no colours
    assert _run(["git", "rev-list", "--count", "HEAD"], repo, env).stdout.strip() == "1"

    _run(["git", "rm", "-q", "--cached", "bad.tflite"], repo, env).check_returncode()
    shutil.copy(FIXTURES / "int8_cnn.tflite", repo / "good.tflite")
    _run(["git", "add", "good.tflite"], repo, env).check_returncode()
    r = _run(["git", "commit", "-m", "add a model that maps"], repo, env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Passed" in out
    assert _run(["git", "rev-list", "--count", "HEAD"], repo, env).stdout.strip() == "2"

    # a commit without .tflite files skips the hook
    (repo / "README.md").write_text("models!\n")
    _run(["git", "add", "README.md"], repo, env).check_returncode()
    r = _run(["git", "commit", "-m", "docs"], repo, env)
    assert r.returncode == 0 and "Skipped" in r.stdout + r.stderr


NETWORK_ERRORS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Network is unreachable",
    "ConnectTimeout",
)


def test_try_repo_installs_and_runs_the_python_hook(tmp_path: Path) -> None:
    """The hook as users install it: pre-commit builds its own virtualenv from a git repository."""
    _need_tools()
    env = _env(tmp_path / "home")
    # A committed copy of the hook repository (try-repo only sees committed or tracked files).
    hook_repo = _git_repo(tmp_path / "hook-repo", env)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hook_repo / name)
    for name in ("tpulint", "rules"):
        shutil.copytree(ROOT / name, hook_repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run(["git", "add", "."], hook_repo, env).check_returncode()
    _run(["git", "commit", "-q", "-m", "hooks"], hook_repo, env).check_returncode()

    repo = _git_repo(tmp_path / "repo", env)
    shutil.copy(FIXTURES / "unsupported_mid.tflite", repo / "bad.tflite")
    shutil.copy(FIXTURES / "int8_cnn.tflite", repo / "good.tflite")
    (repo / "notes.txt").write_text("not a model\n")
    _run(["git", "add", "."], repo, env).check_returncode()

    cmd = [str(PRE_COMMIT), "try-repo", str(hook_repo), "tpulint", "--files"]
    r = _run([*cmd, "bad.tflite", "good.tflite", "notes.txt"], repo, env, timeout=540)
    out = r.stdout + r.stderr
    log = tmp_path / "home" / "pre-commit.log"
    if r.returncode == 3 and any(e in out + (log.read_text() if log.is_file() else "") for e in NETWORK_ERRORS):
        pytest.skip("pre-commit could not pip-install the hook's environment (package index unreachable)")
    assert r.returncode == 1, out
    assert "Failed" in out and "TPU101" in out and "bad.tflite" in out and "notes.txt" not in out

    r = _run([*cmd, "good.tflite"], repo, env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout
