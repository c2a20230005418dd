"""Reports people can look at: one self-contained HTML page per set of runs."""

from ganforge.report.html import write_report

__all__ = ["write_report"]
