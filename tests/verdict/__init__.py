"""Tests of facecore/verdict/."""
