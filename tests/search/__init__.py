"""Tests of facecore/search/."""
