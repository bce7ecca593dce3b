"""Tests of the app: app.py and pages/, through AppTest and a real browser."""
