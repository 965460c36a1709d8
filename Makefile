# The two commands of the README: `make demo` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo demo-port test test-workers scenario bootstrap lint typecheck migrations-check messages-check deploy-check test-postgres test-sqlite bench messages serve

bootstrap:
	@scripts/bootstrap.sh

# The demo server's port: `make demo DEMO_PORT=8010` when another program holds 8000 (the desk
# pages' origin and the resident page's follow it).
DEMO_PORT ?= 8000

# A port the demo can serve on, checked before anything is installed or started: `DEMO_PORT=abc`
# was refused as "MADOGUCHI_ORIGIN is not valid", a variable the newcomer never set, and
# `DEMO_PORT=0` started the simulators before the card agents refused the origin.
demo-port:
	@case '$(DEMO_PORT)' in ''|*[!0-9]*) ok= ;; *) [ '$(DEMO_PORT)' -ge 1 ] 2>/dev/null && [ '$(DEMO_PORT)' -le 65535 ] 2>/dev/null && ok=1 ;; esac; \
	if [ -z "$$ok" ]; then \
	  echo "make demo: DEMO_PORT is the port the demo serves on, a number from 1 to 65535 (make demo DEMO_PORT=8010, say), not '$(DEMO_PORT)'. Nothing was installed or started." >&2; \
	  exit 2; \
	fi

demo: demo-port bootstrap
	@MADOGUCHI_DEMO=1 SECURE_COOKIES=0 DESK_TEST_PROCEDURE=1 \
	  CARD_AGENT_ORIGINS=desk-01=http://127.0.0.1:47110,desk-02=http://127.0.0.1:47111 \
	  MADOGUCHI_PORT=$(DEMO_PORT) MADOGUCHI_ORIGIN=http://127.0.0.1:$(DEMO_PORT) \
	  RESIDENT_ORIGIN=http://localhost:$(DEMO_PORT) \
	  $(BIN)/madoguchi demo

test: test-workers bootstrap lint typecheck migrations-check messages-check deploy-check test-postgres test-sqlite
	@echo "make test: all checks passed"

lint:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck:
	DEBUG=1 $(BIN)/mypy

migrations-check:
	DEBUG=1 $(BIN)/madoguchi makemigrations --check --dry-run

# deploy-check's stand-in for a J-LIS input-support key (a deployment sets CARD_SUPPORT_KEYS).
define SUPPORT_KEY
import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(65537, 2048).public_key()
open(sys.argv[1], "wb").write(key.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
endef
export SUPPORT_KEY

# Production-like settings: DEBUG off, real-looking keys (SECRET_KEY and IDENTIFIER_HASH_KEY apart),
# secure cookies (the defaults without DEBUG), the reports' contact (madoguchi.W115).
# It runs against a freshly migrated throwaway database (the checks read the active checklist).
deploy-check:
	@D=$$(mktemp -d) && export DEBUG=0 MADOGUCHI_DATA_DIR=$$D DATABASE_URL=sqlite:///$$D/deploy.sqlite3 \
	  SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  IDENTIFIER_HASH_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=madoguchi.example.jp MADOGUCHI_ORIGIN=https://madoguchi.example.jp \
	  CASES_CITY_DEPARTMENT=Citizens-Division CASES_CITY_PHONE=000-000-0000 \
	  CARD_SUPPORT_KEYS=00000000000000000000000000000000=$$D/support.pem && \
	  $(BIN)/python -c "$$SUPPORT_KEY" $$D/support.pem && $(BIN)/madoguchi migrate -v0 && \
	  $(BIN)/madoguchi audit keygen >/dev/null && \
	  $(BIN)/madoguchi check --deploy --fail-level WARNING; rc=$$?; rm -rf $$D; exit $$rc

# Tests run with DEBUG off, as production does, but over plain http on loopback.
TEST_ENV := SECRET_KEY=test-only-not-a-secret SECURE_COOKIES=0

# The tests run in TEST_WORKERS pytest-xdist workers (default: one per core), each test file whole
# in one worker, so that a module's live server, pcscd or Spark session starts once, as in a
# serial run (docs/performance.md, "Test suite time: twenty-first session"). TEST_WORKERS=0 runs
# them in one process, in order (to sit in a debugger, or to read one test's output as it runs).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
ifeq ($(TEST_WORKERS),0)
XDIST :=
else
XDIST := -n $(TEST_WORKERS) --dist loadfile
endif

# A number of workers pytest-xdist can start, checked before anything runs: TEST_WORKERS=abc was
# pytest's usage error after the lint and type checks, and a number past 64 bits xdist's
# OverflowError traceback.
test-workers:
	@case '$(TEST_WORKERS)' in ''|*[!0-9]*) ok= ;; *) [ '$(TEST_WORKERS)' -le 64 ] 2>/dev/null && ok=1 ;; esac; \
	if [ -z "$$ok" ]; then \
	  echo "make: TEST_WORKERS is how many pytest-xdist workers run the tests, a whole number from 0 (one process, in order) to 64, not '$(TEST_WORKERS)'. No test was run." >&2; \
	  exit 2; \
	fi

test-postgres: test-workers
	$(TEST_ENV) DATABASE_URL=$$(scripts/postgres.sh) $(BIN)/pytest -p no:cacheprovider $(XDIST) $(PYTEST_ARGS)

# The SQLite pass runs only the tests that use the database (marker `database`, put by
# tests/conftest.py on every test that asks for it): the others (the pure libraries, the scan over
# files, Spark, …) behave the same whatever the database and run once, in the PostgreSQL pass.
test-sqlite: test-workers
	mkdir -p var
	$(TEST_ENV) DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(BIN)/pytest -p no:cacheprovider -m database $(XDIST) $(PYTEST_ARGS)

bench: bootstrap
	$(TEST_ENV) $(BIN)/madoguchi bench all

# Extract the Japanese catalogues: each app with a locale/ folder its own strings into its own,
# the rest into src/madoguchi/locale; only catalogues whose messages changed are rewritten and
# compiled (`make messages APPS="cases desk"` for some; "." is the shared one).
messages:
	$(BIN)/python scripts/messages.py $(APPS)

# Every translatable string extracted and every catalogue compiled: writes nothing.
messages-check:
	$(BIN)/python scripts/messages.py --check

# Replay the seed's incident against the running demo (start `make demo` first, in another shell).
scenario:
	@MADOGUCHI_DEMO=1 DESK_TEST_PROCEDURE=1 $(BIN)/madoguchi scenario sakai
