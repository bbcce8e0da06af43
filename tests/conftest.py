"""Make the checkout importable as ``ansible_collections.keycloak.aurora``.

Ansible finds collections by the path ``ansible_collections/<namespace>/<name>``; the checkout is
linked there under ``build/collections`` so that tests import exactly the code that ships.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_PATH = REPO_ROOT / "build" / "collections"


def _link_checkout():
    link = COLLECTIONS_PATH / "ansible_collections" / "keycloak" / "aurora"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)


_link_checkout()
sys.path.insert(0, str(COLLECTIONS_PATH))
# Shared fakes of the unit tests (tests/unit/aws_fakes.py).
sys.path.insert(0, str(REPO_ROOT / "tests" / "unit"))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_PATH))
