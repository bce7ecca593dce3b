"""Tests of facecore/curation/."""
