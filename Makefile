# Two commands for a new user: `make demo` and `make test`. Both build .venv from pinned files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/keycloak/aurora
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections

.PHONY: venv demo test unit integration lint sanity clean

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

demo: venv
	$(BIN)/python tools/demo.py

test: unit integration lint sanity

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv
	$(BIN)/pytest -q -n auto tests/integration

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

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache tests/output
