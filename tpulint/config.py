"""Configuration: ``[tool.tpulint]`` in ``pyproject.toml``, or a ``tpulint.toml`` (ruff's conventions).

Discovery starts at the first input path (its directory for a file) or the current directory and
walks upward; in each directory ``tpulint.toml`` wins over ``pyproject.toml``, and a
``pyproject.toml`` without a ``[tool.tpulint]`` table is skipped. ``--config PATH`` names the file
explicitly. Command-line flags override the file: ``--select`` replaces ``select``, while
``--extend-select`` and ``--ignore`` apply on top of the file's selection (ruff's layering).

Keys (kebab-case, as in ruff)::

    runtime = 14                       # Edge TPU runtime to target
    compiler = "/opt/edgetpu/edgetpu_compiler"   # the real compiler binary (compile, --confirm)
    compiler-version = "16.0"          # the compiler tpulint models
    select = ["ALL"]                   # codes, prefixes ("TPU3") or ALL, as on the command line
    extend-select = []
    ignore = ["TPU303"]
    fail-on = "error"                  # error | warning | info
    baseline = "tpulint-baseline.json" # relative to the config file
    per-file-ignores = {"models/legacy/*.tflite" = ["TPU3"]}   # globs relative to the config file
    per-op-ignores = [{op = "LEAKY_RELU", codes = ["TPU101"]},
                      {name = "*/postprocess/*", codes = ["ALL"], path = "detectors/**"}]
    severity-overrides = {TPU601 = "error", TPU3 = "warning"}

Unknown keys, unknown codes and malformed values raise :class:`ConfigError` (exit 2, one line).
A ``.tflite`` cannot carry comments, so all suppression lives here, out of the model.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpulint.registry import all_rules, expand_selector
from tpulint.report import ModelReport

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILES = ("tpulint.toml", "pyproject.toml")
SEVERITIES = ("error", "warning", "info")
KEYS = (
    "runtime",
    "compiler",
    "compiler-version",
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "per-op-ignores",
    "severity-overrides",
    "fail-on",
    "baseline",
)
OP_IGNORE_KEYS = ("op", "name", "index", "subgraph", "codes", "path")


class ConfigError(ValueError):
    """A configuration problem; its text is the one-line error shown to the user."""


@dataclass(frozen=True)
class OpIgnore:
    """One ``per-op-ignores`` entry: the findings on matching ops whose code is in ``codes`` are dropped."""

    codes: frozenset[str]
    op: str | None = None  # op type, e.g. "LEAKY_RELU" (case-insensitive)
    name: str | None = None  # glob on the op's output tensor name
    index: int | None = None  # op index
    subgraph: int | None = None
    path: str | None = None  # glob on the model path (relative to the config file)

    def matches_op(self, subgraph: int | None, index: int | None, opcode: str | None, name: str | None) -> bool:
        if index is None:  # model-level finding: op selectors never match it
            return False
        if self.op is not None and (opcode or "").upper() != self.op.upper():
            return False
        if self.name is not None and not fnmatch.fnmatchcase(name or "", self.name):
            return False
        if self.index is not None and index != self.index:
            return False
        return self.subgraph is None or (subgraph or 0) == self.subgraph


@dataclass
class Config:
    """Resolved configuration values (``None`` / empty = not set in the file)."""

    path: Path | None = None  # the file it came from
    root: Path = field(default_factory=Path.cwd)  # globs and relative paths are relative to this
    runtime: int | None = None
    compiler: str | None = None
    compiler_version: str | None = None
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, frozenset[str]] = field(default_factory=dict)
    per_op_ignores: list[OpIgnore] = field(default_factory=list)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    fail_on: str | None = None
    baseline: Path | None = None

    def compiler_path(self) -> str | None:
        """``compiler`` with a relative path (one containing a separator) resolved against the config's directory."""
        if self.compiler is None:
            return None
        if "/" in self.compiler or "\\" in self.compiler:
            p = Path(self.compiler).expanduser()
            return str(p if p.is_absolute() else self.root / p)
        return self.compiler


# --------------------------------------------------------------------------------------------- loading


def _known_codes() -> list[str]:
    return list(all_rules())


def expand_codes(selectors: Iterable[str], where: str) -> frozenset[str]:
    """Codes matched by ``selectors`` (codes, prefixes, ALL); an unknown one is a :class:`ConfigError`."""
    known = _known_codes()
    out: set[str] = set()
    for s in selectors:
        hit = expand_selector(s, known)
        if not hit:
            raise ConfigError(f"{where}: {s!r} matches no rule code (see `tpulint rules`)")
        out |= hit
    return frozenset(out)


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [x for x in (v.strip() for v in value.split(",")) if x]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{where} must be a list of rule codes or prefixes")
    return list(value)


def _codes_list(value: Any, where: str) -> list[str]:
    codes = _str_list(value, where)
    expand_codes(codes, where)  # validate
    return codes


def find_config(start: Path) -> Path | None:
    """The nearest ``tpulint.toml`` or ``pyproject.toml`` with ``[tool.tpulint]``, from ``start`` upward."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for d in (here, *here.parents):
        for name in CONFIG_FILES:
            p = d / name
            if not p.is_file():
                continue
            if name == "pyproject.toml":
                try:
                    text = p.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                try:
                    data = tomllib.loads(text)
                except tomllib.TOMLDecodeError:
                    if "tool.tpulint" in text:
                        return p  # ours but broken: load_config reports it
                    continue  # an unrelated broken pyproject is not ours to report
                if "tpulint" not in data.get("tool", {}):
                    continue
            return p
    return None


def load_config(path: Path) -> Config:
    """Read and validate one configuration file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("tpulint")
        if table is None:
            raise ConfigError(f"{path} has no [tool.tpulint] table")
        where = f"{path} [tool.tpulint]"
    else:
        # tpulint.toml holds the keys at top level (like ruff.toml); a [tool.tpulint] table is accepted too.
        tool = data.get("tool")
        table = tool["tpulint"] if set(data) == {"tool"} and isinstance(tool, dict) and "tpulint" in tool else data
        where = str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    return parse_config(table, path=path, where=where)


def parse_config(table: dict[str, Any], *, path: Path | None = None, where: str = "config") -> Config:
    unknown = [k for k in table if k not in KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    root = path.resolve().parent if path is not None else Path.cwd()
    cfg = Config(path=path, root=root)
    if "runtime" in table:
        v = table["runtime"]
        if not isinstance(v, int) or isinstance(v, bool):
            raise ConfigError(f"{where}: runtime must be an integer (10-14), not {v!r}")
        cfg.runtime = v
    if "compiler" in table:
        v = table["compiler"]
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{where}: compiler must be the path of the edgetpu_compiler binary")
        cfg.compiler = v
    if "compiler-version" in table:
        v = table["compiler-version"]
        if isinstance(v, float):
            v = f"{v:.1f}"
        if not isinstance(v, str):
            raise ConfigError(f"{where}: compiler-version must be a string such as \"16.0\"")
        from tpulint.context import COMPILER_VERSIONS

        if v not in COMPILER_VERSIONS:
            raise ConfigError(f"{where}: unknown compiler-version {v!r} (known: {', '.join(COMPILER_VERSIONS)})")
        cfg.compiler_version = v
    if "select" in table:
        cfg.select = _codes_list(table["select"], f"{where}: select")
    if "extend-select" in table:
        cfg.extend_select = _codes_list(table["extend-select"], f"{where}: extend-select")
    if "ignore" in table:
        cfg.ignore = _codes_list(table["ignore"], f"{where}: ignore")
    if "fail-on" in table:
        v = table["fail-on"]
        if v not in SEVERITIES:
            raise ConfigError(f"{where}: fail-on must be one of {', '.join(SEVERITIES)}, not {v!r}")
        cfg.fail_on = v
    if "baseline" in table:
        v = table["baseline"]
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{where}: baseline must be a path")
        b = Path(v).expanduser()
        cfg.baseline = b if b.is_absolute() else root / b
    if "per-file-ignores" in table:
        v = table["per-file-ignores"]
        if not isinstance(v, dict):
            raise ConfigError(f"{where}: per-file-ignores must be a table of glob = [codes]")
        for glob, codes in v.items():
            cfg.per_file_ignores[glob] = expand_codes(
                _str_list(codes, f"{where}: per-file-ignores[{glob!r}]"), f"{where}: per-file-ignores[{glob!r}]"
            )
    if "per-op-ignores" in table:
        cfg.per_op_ignores = _op_ignores(table["per-op-ignores"], where)
    if "severity-overrides" in table:
        v = table["severity-overrides"]
        if not isinstance(v, dict):
            raise ConfigError(f"{where}: severity-overrides must be a table of code = \"error|warning|info\"")
        for sel, sev in v.items():
            expand_codes([sel], f"{where}: severity-overrides")
            if sev not in SEVERITIES:
                raise ConfigError(f"{where}: severity-overrides[{sel!r}] must be one of {', '.join(SEVERITIES)}")
            cfg.severity_overrides[sel.upper()] = sev
    return cfg


def _op_ignores(value: Any, where: str) -> list[OpIgnore]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: per-op-ignores must be a list of tables")
    out = []
    for i, e in enumerate(value):
        w = f"{where}: per-op-ignores[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{w} must be a table such as {{op = \"LEAKY_RELU\", codes = [\"TPU101\"]}}")
        unknown = [k for k in e if k not in OP_IGNORE_KEYS]
        if unknown:
            raise ConfigError(f"{w}: unknown key {unknown[0]!r} (known: {', '.join(OP_IGNORE_KEYS)})")
        if not any(k in e for k in ("op", "name", "index")):
            raise ConfigError(f"{w} needs one of op (op type), name (tensor-name glob) or index")
        if "codes" not in e:
            raise ConfigError(f"{w} needs codes (use [\"ALL\"] for every rule)")
        for k in ("op", "name", "path"):
            if k in e and not isinstance(e[k], str):
                raise ConfigError(f"{w}: {k} must be a string")
        for k in ("index", "subgraph"):
            if k in e and (not isinstance(e[k], int) or isinstance(e[k], bool) or e[k] < 0):
                raise ConfigError(f"{w}: {k} must be a non-negative integer")
        out.append(
            OpIgnore(
                codes=expand_codes(_str_list(e["codes"], f"{w}: codes"), f"{w}: codes"),
                op=e.get("op"),
                name=e.get("name"),
                index=e.get("index"),
                subgraph=e.get("subgraph"),
                path=e.get("path"),
            )
        )
    return out


def discover(paths: Sequence[Path], explicit: Path | None = None) -> Config:
    """The configuration for a run: ``explicit`` (``--config``), else the nearest one, else defaults."""
    if explicit is not None:
        return load_config(explicit)
    start = Path(paths[0]) if paths else Path.cwd()
    if not start.exists():
        start = Path.cwd()
    found = find_config(start)
    return load_config(found) if found is not None else Config()


# --------------------------------------------------------------------------------------------- globs


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` and ``?`` stay within one path segment, ``**`` spans segments."""
    i, out = 0, []
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def path_matches(model_path: str | Path, pattern: str, root: Path) -> bool:
    """Does ``model_path`` match ``pattern`` (relative to ``root``; a pattern without ``/`` also
    matches the file name in any directory, as in ruff's per-file-ignores)?"""
    p = Path(os.path.realpath(model_path))  # not Path.resolve(): it raises on a symlink loop
    candidates = [p.as_posix()]
    with contextlib.suppress(ValueError):  # outside the root: only the absolute path and the name
        candidates.append(p.relative_to(root.resolve()).as_posix())
    rx = glob_to_regex(pattern.removeprefix("./"))
    if "/" not in pattern:
        candidates.append(p.name)
    return any(rx.match(c) for c in candidates)


# --------------------------------------------------------------------------------------------- policy


def _override_for(code: str, overrides: dict[str, str]) -> str | None:
    """The most specific severity override for ``code`` (a full code beats a prefix beats ALL)."""
    best: tuple[int, str] | None = None
    for sel, sev in overrides.items():
        spec = -1 if sel == "ALL" else len(sel)
        if (sel == "ALL" or code.startswith(sel)) and (best is None or spec > best[0]):
            best = (spec, sev)
    return best[1] if best else None


def apply_config(m: ModelReport, cfg: Config) -> None:
    """Severity overrides, then ``per-file-ignores`` and ``per-op-ignores`` (findings are dropped)."""
    if cfg.severity_overrides:
        for f in m.findings:
            sev = _override_for(f.code, cfg.severity_overrides)
            if sev is not None:
                f.severity = sev
    ignored: set[str] = set()
    for glob, codes in cfg.per_file_ignores.items():
        if path_matches(m.path, glob, cfg.root):
            ignored |= codes
    op_rules = [r for r in cfg.per_op_ignores if r.path is None or path_matches(m.path, r.path, cfg.root)]
    if not ignored and not op_rules:
        return
    keep = []
    for f in m.findings:
        if f.code in ignored:
            continue
        if any(f.code in r.codes and r.matches_op(f.subgraph, f.op_index, f.opcode, f.op_name) for r in op_rules):
            continue
        keep.append(f)
    m.findings = keep


def selected_codes(layers: Iterable[tuple[Sequence[str] | None, Sequence[str], Sequence[str]]]) -> frozenset[str]:
    """ruff's layered selection: each (select, extend-select, ignore) layer applies on the previous one;
    a layer's ``select`` (when given) replaces everything selected so far."""
    known = _known_codes()
    codes = set(known)
    for select, extend, ignore in layers:
        if select:
            codes = set(expand_codes(select, "select"))
        codes |= expand_codes(extend, "extend-select")
        codes -= expand_codes(ignore, "ignore")
    return frozenset(codes)
