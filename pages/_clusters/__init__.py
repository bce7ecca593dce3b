"""Helpers of the Clusters page (pages/clusters.py): charts, the hover faces, the how-it-works text,
its cached getters and tables."""
