"""The settings of one ``check`` run: configuration file + command line, applied to each model.

Precedence: command-line flag > configuration file > built-in default. For the rule selection,
``--select`` replaces the file's ``select`` while ``--extend-select`` / ``--ignore`` apply on top of
it (ruff's layering). Findings are then filtered by ``per-file-ignores`` / ``per-op-ignores``,
re-levelled by ``severity-overrides``, and compared with the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tpulint.baseline import Baseline
from tpulint.config import Config, apply_config, discover, selected_codes
from tpulint.report import ModelReport


@dataclass
class CheckSettings:
    config: Config
    codes: frozenset[str]
    fail_on: str
    baseline: Baseline | None

    def process(self, m: ModelReport) -> None:
        """Config (overrides, ignores), selection and baseline, in place on one model's report."""
        apply_config(m, self.config)
        m.findings = [f for f in m.findings if f.code in self.codes]
        if self.baseline is not None:
            self.baseline.apply(m)

    @property
    def runtime(self) -> int | None:
        return self.config.runtime

    def failing(self, models: Sequence[ModelReport]) -> bool:
        """Is any non-baselined finding at or above the failure threshold?"""
        rank = {"error": 3, "warning": 2, "info": 1}
        threshold = rank[self.fail_on]
        return any(rank.get(f.severity, 0) >= threshold for m in models for f in m.findings if not f.baselined)


def check_settings(
    paths: Sequence[Path],
    *,
    config_path: Path | None = None,
    select: Sequence[str] = (),
    extend_select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    fail_on: str | None = None,
    baseline: Path | None = None,
    use_baseline: bool = True,
) -> CheckSettings:
    """Resolve the settings; raises ``ConfigError`` / ``BaselineError`` (both ``ValueError``)."""
    cfg = discover(paths, config_path)
    codes = selected_codes(
        [
            (cfg.select, cfg.extend_select, cfg.ignore),
            (list(select) or None, list(extend_select), list(ignore)),
        ]
    )
    base_path = baseline if baseline is not None else cfg.baseline
    loaded = Baseline.load(base_path) if (use_baseline and base_path is not None) else None
    return CheckSettings(config=cfg, codes=codes, fail_on=fail_on or cfg.fail_on or "error", baseline=loaded)


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory with a ``.git`` from ``start`` (default: the current directory) upward,
    else ``start`` itself: SARIF and GitHub annotations use paths relative to it."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here
