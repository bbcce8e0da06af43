# Two commands for a new user: `make demo` and `make test`. Both build .venv from pinned files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/keycloak/aurora
SANITY_ROOT := build/sanity/ansible_collections/keycloak/aurora
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
	$(BIN)/pytest -q tests/integration

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ansible-lint

# ansible-test insists on running inside ansible_collections/<namespace>/<name>: sanity-check a copy
# of exactly the files git would ship.
sanity: venv
	rm -rf build/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)
	cd $(SANITY_ROOT) && PATH=$(CURDIR)/$(BIN):$$PATH ansible-test sanity --local --python 3.11 --color no

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache tests/output
