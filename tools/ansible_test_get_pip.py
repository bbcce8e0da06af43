"""A stand-in for the get-pip.py bootstrap script that ansible-test downloads for its sanity venvs.

ansible-test fetches get-pip.py from its own file server, which this project's machines cannot reach.
It runs the script from its cache instead when one is there: this one bootstraps pip from the
standard library's ensurepip, then installs what was asked for from the package index, as get-pip does.
"""

import ensurepip
import os
import runpy
import ssl
import sys

# get-pip.py's own switches; everything else is handed to "pip install".
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
# ansible-test strips the environment, and the pip that ensurepip bundles verifies TLS against its
# own CA bundle rather than the system's: give it the system's, where the index's certificate chains to.
system_bundle = ssl.get_default_verify_paths().cafile
if system_bundle and os.path.exists(system_bundle):
    os.environ.setdefault("PIP_CERT", system_bundle)
sys.argv = ["pip", "install", *(arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY)]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
