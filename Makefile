# Lantai — two commands set everything up on a fresh Debian machine:
#   make demo   install, build a demo archive (SQLite, local disk) and serve it
#   make test   install and run the test suite (SQLite; PostgreSQL too when LANTAI_TEST_DATABASE_URL is set)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
# LibreOffice (format migration, DEPENDENCIES.md §10) without its recommends: 232 MB instead of ~1 GB.
DEBIAN_LEAN := libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
DEBIAN_PACKAGES := fonts-wqy-zenhei fonts-wqy-microhei fonts-noto-cjk poppler-utils libmagic1 clamav clamav-daemon chromium \
	$(DEBIAN_LEAN)

DEMO_ARGS ?=
DEMO_CHECK_ITEMS ?= 60

.PHONY: demo demo-check test lint bench system-deps install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $(STAMP)

install: system-deps $(STAMP)

# Debian packages the formats, fonts, virus scanning and browser tests need; installed only when absent.
system-deps:
	@missing=""; lean=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || \
	  case " $(DEBIAN_LEAN) " in *" $$p "*) lean="$$lean $$p";; *) missing="$$missing $$p";; esac; done; \
	if [ -n "$$missing$$lean" ]; then \
	  echo "installing Debian packages:$$missing$$lean"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	  [ -z "$$lean" ] || DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$lean; \
	fi

demo: install
	LANTAI_HOME=$${LANTAI_HOME:-./lantai-data} $(VENV)/bin/lantai demo $(DEMO_ARGS)

# What `make demo` does, without serving and on fewer items: the first-run check CI makes.
demo-check: install
	LANTAI_HOME=$${LANTAI_HOME:-./lantai-data} $(VENV)/bin/lantai demo --no-serve --items $(DEMO_CHECK_ITEMS) $(DEMO_ARGS)

test: install
	$(VENV)/bin/pytest -n 2 --dist loadfile -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check lantai tests bench
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) bench/bench_ingest.py

clean:
	rm -rf $(VENV) lantai-data .pytest_cache
