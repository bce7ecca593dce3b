"""Tests of facecore/cli/: python -m facecore."""
