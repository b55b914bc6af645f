# `make test` and `make demo` install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium with Playwright (Playwright's own browser
# download is not reachable everywhere).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install Chromium at $(CHROMIUM) for the browser tests"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info

# The built-in web chat with a demo community; no tokens needed. Data stays in demo/.
DEMO_DIR ?= demo
DEMO_PORT ?= 8080

demo: $(STAMP)
	$(BIN)/facilitator demo --dir $(DEMO_DIR) --port $(DEMO_PORT)
