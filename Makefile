# The two set-up commands of the README: `make app` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8501

.PHONY: app test install install-dev browser audit lint

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(PY)
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -r requirements-nodeps.txt

install-dev: install
	$(PIP) install --quiet -r requirements-dev.txt

# Debian's chromium for the real-browser test (Playwright's own download fails offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

app: install
	$(PY) app.py --server.port $(PORT)

test: install-dev browser
	$(PY) -m pytest

# pip-audit through tools/audit.py: a run that could not reach any vulnerability
# data says so instead of "No known vulnerabilities found" (AUDIT_STRICT=1 fails it).
audit: install-dev
	$(PY) tools/audit.py

lint: install-dev
	$(VENV)/bin/ruff check facecore pages bench app.py tests
