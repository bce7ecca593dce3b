"""Opening a dataset by name: a folder or a ``.zip`` on disk (:func:`open_dataset`), or the small LFW
sample scikit-learn downloads (:func:`lfw_sample`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import DatasetError
from .archives import read_zip
from .folders import refuse_outside, scan_folder
from .refs import ImageRef, Skipped, display_name


def open_dataset(
    source: str | os.PathLike[str],
    allowed_roots: Iterable[Path] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ImageRef], list[Skipped]]:
    """Open a folder or a ``.zip`` file on disk as a list of images (see :func:`scan_folder`)."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        real = path.resolve()  # the archive itself may be a link to somewhere else
        refuse_outside(str(source), real, allowed_roots, what="zip")
        return read_zip(real, prefix="")
    return scan_folder(path, allowed_roots, should_stop)


def lfw_sample(
    min_faces_per_person: int = 30, max_people: int = 8, per_person: int = 15
) -> tuple[list[ImageRef], list[Skipped]]:
    """A small built-in sample: LFW photos through ``sklearn.datasets.fetch_lfw_people``, as in-memory JPEGs.

    Names are ``<person>/<n>.jpg`` so the identity-aware parts of the app work.
    The first call downloads about 200 MB from the internet; raises
    :class:`DatasetError` saying so when the download is impossible.
    """
    import numpy as np
    from PIL import Image
    from sklearn.datasets import fetch_lfw_people

    try:
        lfw = fetch_lfw_people(min_faces_per_person=min_faces_per_person, resize=1.0, color=True, slice_=None)
    except OSError as exc:  # URLError, socket errors, a read-only data folder
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise DatasetError(
            "The LFW sample could not be downloaded: this server has no internet access "
            f"({display_name(str(reason))}). Load a folder on the server or upload photos instead."
        ) from exc
    images = np.asarray(lfw.images)
    if images.size and images.max() <= 1.0:  # some sklearn versions scale pixels to 0..1
        images = images * 255.0
    images = np.clip(images, 0, 255).astype(np.uint8)
    refs: list[ImageRef] = []
    taken: dict[int, int] = {}
    for img, target in zip(images, lfw.target, strict=True):
        person = int(target)
        if person >= max_people or taken.get(person, 0) >= per_person:
            continue
        taken[person] = taken.get(person, 0) + 1
        name = str(lfw.target_names[person]).replace(" ", "_")
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=92)
        refs.append(ImageRef(name=f"{name}/{taken[person]:03d}.jpg", data=buf.getvalue()))
    return refs, []
