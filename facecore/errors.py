"""Exceptions facecore raises, each with a sentence a user can act on.

The app shows ``str(error)`` with ``st.error``; the CLI prints it and exits
non-zero. Nothing here knows about either.
"""

from __future__ import annotations


class FaceCoreError(Exception):
    """Base class of every error facecore raises on purpose."""


class InvalidParameterError(FaceCoreError, ValueError):
    """A parameter is outside the range the data allows (dims, k, nprobe, ...)."""


class NotEnoughFacesError(InvalidParameterError):
    """Fewer faces than an operation needs (e.g. PCA or K-means on < 2 faces)."""


class NoFaceFoundError(FaceCoreError):
    """A query image in which the detector found no face."""


class UnreadableImageError(FaceCoreError):
    """One image could not be used; ``reason`` is a short machine-friendly tag.

    Reasons: ``empty``, ``not an image``, ``corrupt``, ``truncated``,
    ``too many pixels``, ``too large``, ``unsupported``, ``no face``,
    ``unreadable``, ``not a file``. Discovery (:mod:`facecore.photos`) adds
    ``unsupported type``, ``outside allowed folders``, ``symlinked folder``,
    ``unsafe path``, ``nested archive``, ``encrypted`` and ``zip bomb``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class UnsafeInputError(FaceCoreError):
    """A path or archive that would read or write outside the allowed places."""


class DatasetError(FaceCoreError):
    """A dataset that cannot be used at all (missing folder, no images, ...)."""


class ArchiveLimitError(DatasetError):
    """An archive beyond the limits as a whole (too many entries); single members are skipped instead."""


class CacheError(FaceCoreError):
    """The encoding cache file cannot be opened or written (damaged, not a cache, no permission)."""


class WorkerCrashedError(FaceCoreError):
    """An encoding worker process died mid-run (e.g. killed for memory); finished work is cached."""


class ModelMissingError(FaceCoreError):
    """The dlib model files (package ``face_recognition_models``) cannot be loaded."""


class ImportRefusedError(FaceCoreError, ValueError):
    """A file of encodings that cannot be imported; nothing was written."""


class ClusterError(FaceCoreError):
    """The Dask cluster cannot be used: ``distributed`` is missing, the scheduler is unreachable or lost."""


class OnnxEncoderUnavailableError(FaceCoreError):
    """The onnxruntime encoder cannot be used (missing package, bad model file, failed conversion).

    The message is one sentence saying why; callers fall back to dlib's own encoder.
    """


class DependencyMissingError(FaceCoreError, ImportError):
    """A package the chosen method needs is not installed; the message names it and the alternative."""
