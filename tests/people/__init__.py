"""Tests of facecore/people/."""
