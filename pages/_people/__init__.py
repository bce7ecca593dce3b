"""Helpers of the People page (pages/people.py): the cached persons, corrections, downloads, suggestions and quality."""
