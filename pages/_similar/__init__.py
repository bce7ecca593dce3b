"""Helpers of the Similar faces page (pages/similar.py): charts, cached getters, the search quality section, tables."""
