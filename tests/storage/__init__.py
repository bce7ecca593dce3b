"""Tests of facecore/storage/."""
