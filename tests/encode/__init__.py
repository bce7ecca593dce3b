"""Tests of facecore/encode/."""
