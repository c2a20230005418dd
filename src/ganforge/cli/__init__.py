"""The ``ganforge`` command line: subcommands only; each parses and calls the library.

Every :class:`ganforge.errors.GanforgeError` becomes one line on stderr and exit status 2, and so do
an ``OSError`` (a read-only or missing folder, a full disk), running out of memory and, as a last resort,
any other exception (``cli/failures.py``); ``--debug`` shows the traceback instead. Ctrl-C prints one line
and exits with status 130.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from ganforge.errors import GanforgeError


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    from ganforge import __version__
    from ganforge.cli import (
        config_cmd,
        data_cmd,
        demo_cmd,
        eval_cmd,
        experiment_cmd,
        export_cmd,
        modnet_cmd,
        report_cmd,
        sample_cmd,
        train_cmd,
    )

    parser = argparse.ArgumentParser(prog="ganforge", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (data_cmd, config_cmd, train_cmd, sample_cmd, demo_cmd, eval_cmd, experiment_cmd, report_cmd,
                   modnet_cmd, export_cmd):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ganforge`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        args.raw_argv = list(argv)  # `train --nproc K` relaunches itself with these under torchrun
        return int(args.func(args) or 0)
    except GanforgeError as exc:
        return _fail(str(exc), debug)
    except OSError as exc:
        from ganforge.cli.failures import os_error_line

        return _fail(os_error_line(exc), debug)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("ganforge: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # out of memory (2), or what no check caught yet (1): still one line
        from ganforge.cli.failures import is_out_of_memory, unexpected_line

        return _fail(unexpected_line(exc), debug, status=2 if is_out_of_memory(exc) else 1)


def _fail(line: str, debug: bool, status: int = 2) -> int:
    """Print ``ganforge: error: LINE`` (after the traceback with --debug) and return ``status``: 2 for bad
    input and exhausted resources, 1 for an exception no check foresaw (possibly a bug)."""
    if debug:
        traceback.print_exc()
    print(f"ganforge: error: {' '.join(line.split())}", file=sys.stderr)
    return status
