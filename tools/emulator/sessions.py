"""The sessions AssumeRole has handed out, with their credentials, for tests to look for in output.

    GET /moto-api/sessions   JSON list: session_name, role_arn, access_key_id, secret_access_key, session_token

A module that assumes a role in another account gets temporary credentials that must never show in
what it prints or returns. The access key ID and the session token travel in the module's requests,
the secret access key never does: only moto knows it, and this answers it (moto's own
/moto-api/data.json would too, but fails as a whole on any model it cannot serialise). Loopback only,
as the whole emulator is.
"""

import json

PATH = "/moto-api/sessions"


def sessions():
    from moto.sts.models import sts_backends

    return [
        {
            "session_name": role.session_name,
            "role_arn": role.role_arn,
            "access_key_id": role.access_key_id,
            "secret_access_key": role.secret_access_key,
            "session_token": role.session_token,
        }
        for by_partition in list(sts_backends.values())
        for backend in list(by_partition.values())
        for role in backend.assumed_roles
    ]


def control_app(app):
    """WSGI middleware serving GET /moto-api/sessions in front of moto's app."""

    def middleware(environ, start_response):
        if environ.get("PATH_INFO", "") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(sessions()).encode()]

    return middleware
