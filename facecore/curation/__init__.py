"""Curating a collection: near-duplicate photos (near_duplicates), and photos that may be filed under the
wrong person (suspects)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
