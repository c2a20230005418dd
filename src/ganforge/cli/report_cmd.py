"""``ganforge report RUN [RUN ...] --out FILE.html``: a self-contained HTML page of runs."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="write an HTML report of one or more runs")
    report.add_argument("runs", nargs="+", help="run folders")
    report.add_argument("--out", required=True, help="HTML file to write")
    report.add_argument("--title", default="ganforge report")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from ganforge.report import write_report

    path = write_report(args.runs, args.out, title=args.title, warn=_warn)
    print(f"report: {path}")
    return 0


def _warn(line: str) -> None:
    print(f"ganforge: warning: {line}", file=sys.stderr, flush=True)
