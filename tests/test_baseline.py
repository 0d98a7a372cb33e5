"""Baseline: `tpulint baseline write`, `check --baseline`, and fingerprints that survive re-conversion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from builders import M, O, T, build, conv_chain
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.analyze import analyze_path
from tpulint.baseline import Baseline, BaselineError, fill_fingerprints
from tpulint.cli import app
from tpulint.context import Target

runner = CliRunner()
MID = FIXTURES / "unsupported_mid.tflite"


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def leaky_model(*, description: str = "tpulint test model", shuffle: bool = False, middle: str = "LEAKY_RELU") -> M:
    """conv -> <middle> -> conv; ``shuffle`` reverses the tensor table (and so the buffer order)."""
    m = conv_chain(O(middle, ["a"], ["b"]))
    m.description = description
    if shuffle:
        m.tensors = list(reversed(m.tensors))
    return m


def fingerprints(path: Path) -> list[tuple[str, str]]:
    rep = analyze_path(path, Target())
    return [(f.code, f.fingerprint) for f in rep.findings]


def test_fingerprints_survive_a_rebuilt_equivalent_model(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(build(leaky_model()))
    b.write_bytes(build(leaky_model(description="converted again, TF 2.15", shuffle=True)))
    assert a.read_bytes() != b.read_bytes()  # different bytes, buffer order and tensor indices
    fa, fb = fingerprints(a), fingerprints(b)
    assert [c for c, _ in fa] == ["TPU101", "TPU501"]
    assert fa == fb
    # ... but a different graph gives different fingerprints
    c = tmp_path / "c.tflite"
    c.write_bytes(build(leaky_model(middle="HARD_SWISH")))
    assert fingerprints(c)[0][1] != fa[0][1]


def test_fingerprint_ignores_op_index_but_not_input_shapes(tmp_path: Path) -> None:
    base = conv_chain(O("LEAKY_RELU", ["a"], ["b"]))
    # a constant-only op in front renumbers every op; the LEAKY_RELU's identity is unchanged
    shifted = conv_chain(O("LEAKY_RELU", ["a"], ["b"]))
    shifted.tensors.append(T("k", [4], "INT32", data=bytes(16)))
    shifted.tensors.append(T("k2", [4], "INT32"))
    shifted.ops.insert(0, O("CAST", ["k"], ["k2"]))
    wide = conv_chain(O("LEAKY_RELU", ["a"], ["b"]), shape=[1, 8, 8, 8])
    paths = {}
    for name, model in (("base", base), ("shifted", shifted), ("wide", wide)):
        paths[name] = tmp_path / f"{name}.tflite"
        paths[name].write_bytes(build(model))

    def fp101(p: Path) -> tuple[int | None, str]:
        f = next(f for f in analyze_path(p, Target()).findings if f.code == "TPU101" and f.opcode == "LEAKY_RELU")
        return f.op_index, f.fingerprint

    (i0, f0), (i1, f1), (_, f2) = fp101(paths["base"]), fp101(paths["shifted"]), fp101(paths["wide"])
    assert i0 != i1 and f0 == f1
    assert f2 != f0


def test_duplicate_findings_get_distinct_fingerprints(tmp_path: Path) -> None:
    p = tmp_path / "m.tflite"
    p.write_bytes(build(leaky_model()))
    rep = analyze_path(p, Target())
    rep.findings.append(rep.findings[0].__class__(**{**rep.findings[0].__dict__}))
    fill_fingerprints(rep)
    fps = [f.fingerprint for f in rep.findings]
    assert len(fps) == len(set(fps))


def test_baseline_makes_check_pass_and_new_problems_still_fail(tmp_path: Path) -> None:
    baseline = tmp_path / "tpulint-baseline.json"
    code, out, err = run("baseline", "write", str(MID), "-o", str(baseline))
    assert code == 0 and out == "" and "wrote 3 findings of 1 model" in err
    doc = json.loads(baseline.read_text())
    assert doc["tool"] == "tpulint" and doc["version"] == 1
    assert [e["code"] for e in doc["findings"]] == ["TPU101", "TPU501", "TPU501"]

    assert run("check", str(MID))[0] == 1
    code, out, _ = run("check", "--baseline", str(baseline), str(MID))
    assert code == 0 and "3 baselined findings hidden" in out and "TPU101 [op-not-supported]" not in out
    code, out, _ = run("check", "--baseline", str(baseline), "--show-baselined", str(MID))
    assert code == 0 and "TPU101 [op-not-supported]" in out and "(baselined)" in out

    code, out, _ = run("check", "-f", "json", "--baseline", str(baseline), str(MID))
    assert code == 0
    assert all(f["baselined"] is True for f in json.loads(out)["models"][0]["findings"])

    # another model with problems is not covered by the baseline
    assert run("check", "--baseline", str(baseline), str(MID), str(FIXTURES / "transpose.tflite"),
               "--runtime", "13")[0] == 1


def test_new_problem_in_a_baselined_model_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "net.tflite"
    model.write_bytes(build(leaky_model()))
    monkeypatch.chdir(tmp_path)
    assert run("baseline", "write", "models")[0] == 0  # default output: ./tpulint-baseline.json
    doc = json.loads((tmp_path / "tpulint-baseline.json").read_text())
    assert {e["path"] for e in doc["findings"]} == {"models/net.tflite"}  # relative to the baseline file
    assert run("check", "--baseline", "tpulint-baseline.json", "models")[0] == 0

    # the model is re-converted (bytes change, graph equal): still clean
    model.write_bytes(build(leaky_model(description="re-converted", shuffle=True)))
    assert run("check", "--baseline", "tpulint-baseline.json", "models")[0] == 0

    # a new unsupported op replaces the LEAKY_RELU: only the new finding fails the check
    model.write_bytes(build(leaky_model(middle="HARD_SWISH")))
    code, out, _ = run("check", "-f", "json", "--baseline", "tpulint-baseline.json", "models")
    assert code == 1
    fresh = [(f["code"], f["opcode"]) for f in json.loads(out)["models"][0]["findings"] if not f["baselined"]]
    assert fresh == [("TPU101", "HARD_SWISH")]


def test_baseline_from_config_and_no_baseline(tmp_path: Path) -> None:
    shutil.copy(MID, tmp_path / "mid.tflite")
    (tmp_path / "tpulint.toml").write_text("baseline = 'ci/baseline.json'\n")
    (tmp_path / "ci").mkdir()
    code, _, err = run("check", str(tmp_path / "mid.tflite"))
    assert code == 2 and "does not exist" in err and "tpulint baseline write" in err
    # `baseline write` uses the configured path by default
    assert run("baseline", "write", str(tmp_path / "mid.tflite"))[0] == 0
    assert (tmp_path / "ci" / "baseline.json").is_file()
    assert run("check", str(tmp_path / "mid.tflite"))[0] == 0
    assert run("check", "--no-baseline", str(tmp_path / "mid.tflite"))[0] == 1


def test_baseline_respects_config_ignores(tmp_path: Path) -> None:
    shutil.copy(MID, tmp_path / "mid.tflite")
    (tmp_path / "tpulint.toml").write_text("ignore = ['TPU5']\n")
    out = tmp_path / "b.json"
    assert run("baseline", "write", str(tmp_path / "mid.tflite"), "-o", str(out))[0] == 0
    assert [e["code"] for e in json.loads(out.read_text())["findings"]] == ["TPU101"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "not valid JSON"), ('{"tool": "ruff"}', "not a tpulint baseline"),
     ('{"tool": "tpulint", "version": 99, "findings": []}', "unsupported baseline version"),
     ('{"tool": "tpulint", "version": 1, "findings": [{"code": "TPU101"}]}', "lacks path/code/fingerprint")],
)
def test_bad_baseline_is_exit_2(tmp_path: Path, content: str, needle: str) -> None:
    b = tmp_path / "b.json"
    b.write_text(content)
    code, _, err = run("check", "--baseline", str(b), str(MID))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    with pytest.raises(BaselineError):
        Baseline.load(b)


def test_baseline_counts_occurrences(tmp_path: Path) -> None:
    """A baseline entry covers one finding: a second identical one is new."""
    model = tmp_path / "m.tflite"
    model.write_bytes(build(leaky_model()))
    rep = analyze_path(model, Target())
    b = Baseline(root=tmp_path)
    f = rep.findings[0]
    b.entries[b.key(str(model), f)] += 1
    assert b.apply(rep) == 1 and [x.baselined for x in rep.findings] == [True, False]


def test_every_finding_has_a_fingerprint() -> None:
    for p in sorted(FIXTURES.rglob("*.tflite")):
        rep = analyze_path(p, Target())
        assert all(f.fingerprint for f in rep.findings), p
