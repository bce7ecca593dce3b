"""Helpers of the Photos page (pages/dataset.py)."""
