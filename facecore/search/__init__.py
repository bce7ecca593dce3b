"""Search: PCA (reduce), K-means (cluster), the article's nearest-centroid index and exact search (index),
the fitted similarity model, the (K, nprobe) tuning and the identity-aware evaluation."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
