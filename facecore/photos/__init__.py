"""Photos: finding and reading them (refs, folders under allowed roots, zips and uploads, datasets and
samples, safe decoding in imaging) and encodings in and out of files (exchange, thumbnails)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
