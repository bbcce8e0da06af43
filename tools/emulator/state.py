"""Saved emulator states: what moto holds, kept under a name and put back later, for tests that share a start.

    POST /moto-api/state/save?name=N      keep a copy of every resource moto holds now, as N
    POST /moto-api/state/restore?name=N   replace every resource moto holds by a fresh copy of N

Many tests start from the same account (say, one ROSA cluster peered with a provisioned Aurora cluster)
and then test one thing. Building that start costs a whole ansible-playbook run; putting back a copy
costs a fraction of it. A restore is a reset followed by the saved resources: the recorder is left as it
is (tests start it themselves), and what the restored state holds is independent of the saved copy, so a
test may change it freely and the next restore is as saved.

Between runs only: a request that arrives during a restore may land on what is being replaced. And a copy
is a copy of the resources, not of moto's caches: a subnet restored hands out its private addresses again
from the start of its range (moto numbers them by an iterator that a copy begins anew), so an instance
launched into a restored subnet may get an address one launched before the save has.

Instant mode only: the AWS time mode keeps timers of its own outside moto's backends, which a copy of
the backends would not carry; a server in that mode answers 409.
"""

import copy
import importlib
import threading
import urllib.parse
import weakref

PREFIX = "/moto-api/state"


class States:
    """Copies of moto's backends by name. One lock: a save or restore never overlaps another."""

    def __init__(self):
        self._saved = {}
        self._lock = threading.Lock()

    def save(self, name):
        from moto.core.base_backend import BackendDict
        from moto.core.base_backend import backend_lock

        with self._lock, backend_lock:
            instances = list(BackendDict._instances)
            self._saved[name] = (instances, _copy([dict(backends) for backends in instances], instances))

    def restore(self, name):
        from moto.core.base_backend import BackendDict
        from moto.core.base_backend import backend_lock

        with self._lock:
            instances, accounts = self._saved[name]
            accounts = _copy(accounts, instances)
            with backend_lock:
                for backends in BackendDict._instances:
                    backends.clear()
                BackendDict._instances[:] = instances
                for backends, copied in zip(instances, accounts):
                    backends.update(copied)
                _register(
                    [backend for copied in accounts for account in copied.values() for backend in account.values()]
                )

    def __contains__(self, name):
        return name in self._saved


# moto's EC2 finds the backend of another region (a cross-region peering's other side, a VPC there) in
# class-level registries of weak references that each backend adds itself to when it is made, which a
# copy never is: (module, class, attribute) of each.
_REGISTRIES = (
    ("moto.ec2.models.vpcs", "VPCBackend", "vpc_refs"),
    ("moto.ec2.models.vpc_peering_connections", "VPCPeeringConnectionBackend", "vpc_pcx_refs"),
    ("moto.ec2.models.transit_gateway_attachments", "TransitGatewayAttachmentBackend", "backend_refs"),
)


def _registries():
    for module, name, attribute in _REGISTRIES:
        registry_class = getattr(importlib.import_module(module), name)
        yield registry_class, getattr(registry_class, attribute)


def _register(backends):
    """Make the registries hold exactly ``backends`` (the restored ones): a replaced backend, not yet
    collected, would otherwise still be found as the other side of a peering."""
    for registry_class, registry in _registries():
        registry.clear()
        for backend in backends:
            if isinstance(backend, registry_class):
                registry[type(backend)].add(weakref.ref(backend))


def _copy(accounts, instances):
    """A deep copy of ``accounts`` in one pass, so that backends referring to each other still do in the copy;
    moto's BackendDicts themselves (module-level registries a backend may hold) stay the same objects."""
    return copy.deepcopy(accounts, {id(backends): backends for backends in instances})


def control_app(app, *, timed=False):
    """WSGI middleware serving /moto-api/state/{save,restore} in front of moto's app."""
    states = States()

    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        action = path[len(PREFIX) :].strip("/")
        name = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("name", [""])[0]
        if environ.get("REQUEST_METHOD") != "POST" or action not in ("save", "restore") or not name:
            status, body = (
                "404 Not Found",
                f"state: no {environ.get('REQUEST_METHOD')} {path} (POST save or restore?name=N)",
            )
        elif timed:
            status, body = "409 Conflict", "state: not in the AWS time mode, whose timers live outside moto's backends"
        elif action == "restore" and name not in states:
            status, body = "404 Not Found", f"state: nothing saved as {name}"
        else:
            getattr(states, action)(name)
            status, body = "200 OK", f"state: {action}d {name}"
        start_response(status, [("Content-Type", "text/plain")])
        return [body.encode() + b"\n"]

    return middleware
