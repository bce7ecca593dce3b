"""Curating a collection: near-duplicate photos (near_duplicates), photos that may be filed under the wrong
person (suspects), and how far each face can be trusted (face_quality)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
