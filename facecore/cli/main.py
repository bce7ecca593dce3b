"""The parser and the run: each command group's module adds its subcommands (``register``) and gives
back how to run each one and how to print its result for people; a new command is a new module listed
in :data:`GROUPS`."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import FaceCoreError
from ..photos.imaging import silence_bomb_warnings
from ..photos.refs import display_name
from . import cache, curation, encode, layout, people, person, search
from .common import end_bar, parent_parsers

DESCRIPTION = "Command line: ``python -m facecore encode|import|similar|evaluate|people|person|map|duplicates|cache``."
#: The command groups, in the order ``--help`` lists them.
GROUPS = (encode, search, people, person, layout, curation, cache)
#: Options that must be at least 1 when given.
POSITIVE = ("dims", "k", "nprobe", "top", "workers", "detect_max_side", "jitters", "min_size")


def build_parser(commands: dict | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m facecore``; ``commands`` (if given) is filled with
    ``{command: (run, show)}``: how to run each command and print its result for people."""
    p = argparse.ArgumentParser(prog="python -m facecore", description=DESCRIPTION)
    common, model = parent_parsers()
    sub = p.add_subparsers(dest="command", required=True)
    sub.metavar = "COMMAND"  # the list of commands no longer fits the 80-column usage line (its errors stay 2 lines)
    for group in GROUPS:
        (commands if commands is not None else {}).update(group.register(sub, common, model))
    return p


def _run(run, args: argparse.Namespace) -> tuple[dict | None, int]:
    """``run(args)``, or None and the exit code after one line on stderr for an error a user can act on."""
    try:
        return run(args), 0
    except (FaceCoreError, ValueError) as exc:
        end_bar()
        print(f"error: {display_name(str(exc))}", file=sys.stderr)  # always one line
        return None, 2
    except KeyboardInterrupt:
        end_bar()
        print("error: interrupted", file=sys.stderr)
        return None, 130
    except MemoryError:
        end_bar()
        print("error: out of memory: try fewer or smaller photos, or --workers 1", file=sys.stderr)
        return None, 2
    except OSError as exc:  # disk full, permission denied on an output, ...: one line, not a traceback
        end_bar()
        where = f": {exc.filename}" if exc.filename else ""
        print(display_name(f"error: {exc.strerror or exc}{where}"), file=sys.stderr)
        return None, 2


def main(argv: list[str] | None = None) -> int:
    silence_bomb_warnings()  # huge images are reported in the result, not as Pillow warnings
    commands: dict = {}
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    for name in POSITIVE:
        value = getattr(args, name, None)
        if isinstance(value, int) and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if getattr(args, "ship_bytes", False) and args.scheduler is None:
        parser.error("--ship-bytes needs --scheduler")
    run, show = commands[args.command]
    out, code = _run(run, args)
    if out is None:
        return code
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        show(out)
    return 0
