"""The part of the Keycloak operator's CRD keycloaks.k8s.keycloak.org that the collection documents and sends.

Written down by hand from the operator's published schema for version v2beta1 as the Keycloak
operator 26.6 defines it (its types KeycloakSpec, DatabaseSpec, Truststore, TruststoreSource,
ValueOrSecret, HostnameSpec, HttpSpec, and Kubernetes' SecretKeySelector): every field of spec is
named with its type; the sections the collection never writes are checked only for being objects.
``errors(keycloak)`` lists what the API server would refuse (an unknown field under a structural
schema is pruned silently, which would lose the setting just as surely: it is an error here too).
"""

import dataclasses

API_VERSION = "k8s.keycloak.org/v2beta1"
KIND = "Keycloak"


@dataclasses.dataclass(frozen=True)
class Object:
    fields: dict
    required: tuple = ()
    one_of: tuple = ()  # at most one of these may be set, and one must be


@dataclasses.dataclass(frozen=True)
class ListOf:
    item: object


@dataclasses.dataclass(frozen=True)
class MapOf:
    value: object


# A section the collection never writes: an object, its content not checked here.
ANY_OBJECT = dict
ANY_LIST = list

SECRET_KEY_SELECTOR = Object({"name": str, "key": str, "optional": bool}, required=("key",))
VALUE_OR_SECRET = Object({"name": str, "value": str, "secret": SECRET_KEY_SELECTOR}, required=("name",))
TRUSTSTORE_SOURCE = Object({"name": str, "optional": bool}, required=("name",))
TRUSTSTORE = Object(
    {"name": str, "secret": TRUSTSTORE_SOURCE, "configMap": TRUSTSTORE_SOURCE}, one_of=("secret", "configMap")
)
DATABASE = Object(
    {
        "vendor": str,
        "usernameSecret": SECRET_KEY_SELECTOR,
        "passwordSecret": SECRET_KEY_SELECTOR,
        "database": str,
        "host": str,
        "port": int,
        "schema": str,
        "url": str,
        "poolInitialSize": int,
        "poolMinSize": int,
        "poolMaxSize": int,
    }
)
HOSTNAME = Object({"hostname": str, "admin": str, "strict": bool, "backchannelDynamic": bool})
HTTP = Object(
    {
        "httpEnabled": bool,
        "httpPort": int,
        "httpsPort": int,
        "tlsSecret": str,
        "annotations": MapOf(str),
        "labels": MapOf(str),
    }
)
SPEC = Object(
    {
        "instances": int,
        "image": str,
        "startOptimized": bool,
        "imagePullSecrets": ListOf(Object({"name": str})),
        "additionalOptions": ListOf(VALUE_OR_SECRET),
        "env": ListOf(VALUE_OR_SECRET),
        "http": HTTP,
        "unsupported": ANY_OBJECT,
        "ingress": ANY_OBJECT,
        "features": ANY_OBJECT,
        "transaction": ANY_OBJECT,
        "db": DATABASE,
        "hostname": HOSTNAME,
        "truststores": MapOf(TRUSTSTORE),
        "volumes": ANY_LIST,
        "volumeMounts": ANY_LIST,
        "cache": ANY_OBJECT,
        "resources": ANY_OBJECT,
        "proxy": ANY_OBJECT,
        "httpManagement": ANY_OBJECT,
        "scheduling": ANY_OBJECT,
        "import": ANY_OBJECT,
        "bootstrapAdmin": ANY_OBJECT,
        "networkPolicy": ANY_OBJECT,
        "telemetry": ANY_OBJECT,
        "tracing": ANY_OBJECT,
        "update": ANY_OBJECT,
        "readinessProbe": ANY_OBJECT,
        "livenessProbe": ANY_OBJECT,
        "startupProbe": ANY_OBJECT,
        "serviceMonitor": ANY_OBJECT,
        "automountServiceAccountToken": bool,
        "admin": ANY_OBJECT,
    }
)
KEYCLOAK = Object(
    {"apiVersion": str, "kind": str, "metadata": ANY_OBJECT, "spec": SPEC, "status": ANY_OBJECT},
    required=("apiVersion", "kind", "metadata"),
)
TYPE_NAMES = {str: "string", int: "integer", bool: "boolean", dict: "object", list: "array"}


def errors(keycloak):
    """What is wrong with a whole Keycloak object, as "path: why" strings."""
    found = check(keycloak, KEYCLOAK, "")
    if keycloak.get("apiVersion") != API_VERSION:
        found.append(f"apiVersion: {keycloak.get('apiVersion')!r} is not {API_VERSION}")
    if keycloak.get("kind") != KIND:
        found.append(f"kind: {keycloak.get('kind')!r} is not {KIND}")
    return found


def check(value, schema, path):
    """What is wrong with value against schema, as "path: why" strings."""
    if isinstance(schema, type):
        # YAML's true is a bool and an int in Python: a boolean is never an integer here.
        wrong = not isinstance(value, schema) or (schema is int and isinstance(value, bool))
        return [f"{path}: {value!r} is not of type {TYPE_NAMES[schema]}"] if wrong else []
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not of type array"]
        return [error for index, item in enumerate(value) for error in check(item, schema.item, f"{path}[{index}]")]
    if not isinstance(value, dict):
        return [f"{path}: {value!r} is not of type object"]
    if isinstance(schema, MapOf):
        return [error for key, item in value.items() for error in check(item, schema.value, f"{path}.{key}")]
    found = [f"{path}.{key}: no such field" for key in value if key not in schema.fields]
    found += [f"{path}.{key}: required" for key in schema.required if key not in value]
    if schema.one_of and sum(key in value for key in schema.one_of) != 1:
        found.append(f"{path}: exactly one of {', '.join(schema.one_of)} must be set")
    for key, item in value.items():
        if key in schema.fields:
            found += check(item, schema.fields[key], f"{path}.{key}" if path else key)
    return [error.lstrip(".") for error in found]
