# Liaison — the two set-up commands: `make run` (demo) and `make test` (whole suite).
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/liaison
APT_PACKAGES := chromium postgresql-client postfix dovecot-imapd dovecot-lmtpd openssl

.PHONY: run test install system-deps lint check-deploy bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/liaison demo

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installation des paquets système :$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "postfix postfix/main_mailer_type select No configuration" | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@pg_isready -q -h 127.0.0.1 -p 5432 || (pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2)

lint: install
	$(BIN)/ruff check
	$(BIN)/lint-imports
	$(BIN)/mypy

# The settings a production has (README « Mise en production »): Django's deployment checks clean.
PROD_ENV := LIAISON_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	LIAISON_ALLOWED_HOSTS=liaison.chu-exemple.fr LIAISON_DEBUG=

check-deploy: install
	$(PROD_ENV) $(BIN)/liaison check --deploy --fail-level WARNING

test: install system-deps lint check-deploy
	npm ci --prefix tests/web/axe --no-audit --no-fund --silent
	npm ci --prefix tests/oidc --no-audit --no-fund --silent
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) liaison.sqlite3 var .pytest_cache
