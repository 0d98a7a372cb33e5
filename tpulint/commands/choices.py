"""The choice lists shared by ``check`` and the commands that take its options (``convert``,
``inspect``): one definition, imported by ``tpulint.cli`` and the sub-commands alike."""

from __future__ import annotations

from enum import Enum


class Format(str, Enum):
    text = "text"
    concise = "concise"
    json = "json"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    compiler_log = "compiler-log"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class ShowOps(str, Enum):
    all = "all"
    cpu = "cpu"
    none = "none"
