"""Tests of facecore and the app, one folder per package (tests/app: the app.py and pages/ side)."""
