# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | md5sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/fcstudio
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-fast lint bench chromium clean constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# The studio on Daphne (port 8000) and, beside it, the recording proxy's own server (port 8001);
# Ctrl-C stops both (the proxy's server finishes recording what it answered first).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py serve_proxy --port 8001 & proxy=$$!; \
		trap 'kill $$proxy 2>/dev/null; wait $$proxy' EXIT INT TERM; \
		FCSTUDIO_PROXY_URL=$${FCSTUDIO_PROXY_URL:-http://127.0.0.1:8001/v1} \
		$(VENV)/bin/daphne -b 127.0.0.1 -p 8000 fcstudio.asgi:application

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fcstudio tools_app conversations manage.py

# The whole suite on SQLite, then the service-backed part and the hostile-value tests on
# PostgreSQL and Redis.
test: install chromium lint
	$(VENV)/bin/pytest -m "not services"
	DATABASE_URL=$(POSTGRES_URL) REDIS_URL=$(REDIS_TEST_URL) $(VENV)/bin/pytest -m "services or hostile"

test-fast: install
	$(VENV)/bin/pytest -m "not services and not browser"

# The engine alone, then the live path: call finished -> websocket frame at a client, then the
# recording proxy beside calling its upstream directly, then the batch and conversation pages;
# last, bursts of runs through each dispatcher with real workers, on DATABASE_URL and REDIS_URL
# when set, else on the local PostgreSQL and Redis if they answer (else it says it skipped).
bench: install
	$(PY) manage.py bench_engine
	$(PY) manage.py bench_patterns
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py bench_live
	$(PY) manage.py bench_proxy
	$(PY) manage.py bench_pages
	$(PY) manage.py bench_scale --skip-unavailable

# Re-pin constraints.txt to what pyproject.toml resolves to today.
constraints:
	$(PYTHON) -m venv /tmp/fcstudio-constraints-venv
	/tmp/fcstudio-constraints-venv/bin/pip install --quiet --upgrade pip
	/tmp/fcstudio-constraints-venv/bin/pip install --quiet -e '.[test]'
	{ sed -n '1,2p' constraints.txt; /tmp/fcstudio-constraints-venv/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf /tmp/fcstudio-constraints-venv

clean:
	rm -rf $(VENV) .staticfiles .test-db.sqlite3 test-artifacts
