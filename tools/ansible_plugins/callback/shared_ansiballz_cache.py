"""Let the ansible-playbook runs of one test session share their AnsiballZ payloads (tests only).

ansible-core builds each module's payload (the module and every module_util it imports, found by
parsing them) once per run, in a cache under its per-run local temporary directory, which it
removes at exit. This callback, enabled by tools/ansible_run.py for the test session only, links
that cache to a directory of the session, so that a module is built once per session. The
payload holds no task's arguments: those are added to it for each task.
"""

import os

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: shared_ansiballz_cache
type: aggregate
short_description: Share the AnsiballZ payload cache between ansible-playbook runs
description:
  - Links the AnsiballZ cache of the run to the directory named by the environment variable
    E(KEYCLOAK_AURORA_ANSIBALLZ_CACHE); without it, does nothing.
requirements:
  - enabled in callbacks_enabled
"""

VARIABLE = "KEYCLOAK_AURORA_ANSIBALLZ_CACHE"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "shared_ansiballz_cache"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        shared = os.environ.get(VARIABLE)
        # Callbacks load before the first task forks a worker: every worker then finds the link.
        # The temporary directory is removed at exit without following the link.
        link = os.path.join(C.DEFAULT_LOCAL_TMP, "ansiballz_cache")
        if shared and not os.path.lexists(link):
            os.makedirs(shared, exist_ok=True)
            os.symlink(shared, link)
