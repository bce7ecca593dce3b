"""Tests of facecore/photos/."""
