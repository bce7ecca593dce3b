"""Command line: ``python -m facecore encode|import|similar|evaluate|people|cache``.

Human-readable output by default (with a progress bar on stderr), one JSON
object with ``--json``. Any facecore error ends the run with exit code 2 and
one clear line on stderr. The parser and the run are in :mod:`.main`, what the
commands share in :mod:`.common`, and each command group in its own module.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
