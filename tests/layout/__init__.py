"""Tests of facecore/layout/."""
