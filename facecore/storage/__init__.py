"""Storage: the one SQLite cache file (db: connection and transaction), the encodings, person facts,
saved and imported sets, and the one delete rule shared by the app and the CLI (deletion)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
