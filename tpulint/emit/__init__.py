"""Emitters: pure functions from a finished :class:`~tpulint.report.Report` to text."""
