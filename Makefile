# `make test` and `make demo` install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo clean catalogs postgresql-server

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

# The email tests read a real mailbox over IMAP: Debian's dovecot, started by the fixture.
DOVECOT := /usr/sbin/dovecot

$(DOVECOT):
	@command -v apt-get >/dev/null || { echo "install dovecot-imapd at $(DOVECOT) for the IMAP test"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd

# The suite runs on both storage backends: the SQLite file, then PostgreSQL (a throw-away
# server in a temporary folder, started by the fixtures from Debian's postgresql package).
# (postgresql-client alone also makes /usr/lib/postgresql/N/bin: the server's initdb tells.)
postgresql-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		command -v apt-get >/dev/null || { echo "install PostgreSQL (Debian's postgresql package) for the tests"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# Most tests wait on sockets and timers, not on the processor: four test files at a time (each
# in one process, so a file's tests share nothing with another's) keep two cores about 60% busy.
# The two passes run one after the other: side by side they overload two cores, and the tests
# that measure a rate then measure the machine.
test: $(STAMP) $(CHROMIUM) $(DOVECOT) postgresql-server
	$(BIN)/python -m pytest -q -n 4 --dist loadfile
	FACILITATOR_TEST_STORAGE=postgresql $(BIN)/python -m pytest -q -n 4 --dist loadfile

clean:
	rm -rf $(VENV) build *.egg-info

# The built-in web chat with a demo community; no tokens needed. Data stays in demo/.
DEMO_DIR ?= demo
DEMO_PORT ?= 8080

demo: $(STAMP)
	$(BIN)/facilitator demo --dir $(DEMO_DIR) --port $(DEMO_PORT)

# The catalogs of what the bot says: extract every message from the code into
# bot/texts/messages.pot, bring each language's .po up to date with it (new messages come
# untranslated, then the catalog test fails until someone translates them), and compile
# each one to check it (the bot reads the .po files themselves at start).
KEYWORDS := -k t -k plural:1,2 -k Refusal -k N_ -k command:3 -k ui
CATALOG_LANGUAGES := fr es pt ar

catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-default-keywords --sort-by-file \
		--project facilitator-bot --copyright-holder "facilitator-bot" -o bot/texts/messages.pot .
	for language in $(CATALOG_LANGUAGES); do \
		$(BIN)/pybabel update -i bot/texts/messages.pot -o bot/texts/$$language.po -l $$language \
			--no-fuzzy-matching --ignore-obsolete || exit 1; \
		$(BIN)/pybabel compile -i bot/texts/$$language.po -o /dev/null -l $$language --statistics || exit 1; \
	done
