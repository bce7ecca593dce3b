"""The photos a benchmark runs on: a fixed random sample of a folder, or the whole folder encoded through a cache."""

from __future__ import annotations

import os
import random

from facecore import EncoderSettings, EncodingStore, FaceSet, ImageRef, NotEnoughFacesError, encode_images, open_dataset


def sample_refs(dataset: str | os.PathLike[str], n: int | None, seed: int = 0) -> list[ImageRef]:
    """A fixed random sample of ``n`` images of ``dataset`` (all of them when ``n`` is None), sorted by name."""
    refs, _ = open_dataset(dataset)
    if not refs:
        raise NotEnoughFacesError(f"No images found in {str(dataset)!r}: point --dataset to a folder of photos.")
    if n is not None and n < len(refs):
        refs = random.Random(seed).sample(refs, n)
    return sorted(refs, key=lambda r: r.name)


def real_faceset(dataset: str | os.PathLike[str], cache: str | os.PathLike[str]) -> FaceSet:
    """Encode every photo of ``dataset`` through the cache file ``cache`` (slow the first time only)."""
    refs, skipped = open_dataset(dataset)
    return encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)
