"""A fault-injecting HTTP proxy in front of the emulator.

    with FaultProxy(emulator.url, share=0.2) as proxy:
        run_playbook(proxy.env(), "provision.yml", ...)     # AWS calls go through the proxy
        proxy.injected                                      # Counter {(service, action): faults}

Every request is forwarded verbatim (method, path, headers, body) to the emulator, except that a
deterministic share of AWS requests is answered by the proxy itself, before the emulator sees
them, with AWS's own throttling error for the request's protocol:

- EC2 (credential scope service ``ec2``): HTTP 503, EC2 XML, ``RequestLimitExceeded``;
- other query APIs (form ``Action=``: RDS, STS, ...): HTTP 400, query XML, ``Throttling``;
- JSON APIs (``X-Amz-Target``: Secrets Manager, ...): HTTP 400, ``ThrottlingException``.

Which requests are throttled: a running total per service adds ``share`` per AWS request and
a request is throttled whenever its service's total reaches 1 (so exactly every fifth EC2, every
fifth RDS and every fifth Secrets Manager request at 0.2, whatever the timing: each protocol is
exercised as soon as its service sees a few requests). A logical request (same service, method,
path and body: botocore signs every retry anew but sends the same body) is never throttled twice
in a row: its next attempt always passes, so a client that retries at all gets through, and the
throttle it skipped falls to the next request.

``deny`` answers the named actions, every time, with AWS's permission error instead:
``UnauthorizedOperation`` (EC2, HTTP 403), ``AccessDenied`` (query APIs, HTTP 403) or
``AccessDeniedException`` (JSON APIs, HTTP 400, as AWS's JSON services answer it). They are
counted in ``denied``. /moto-api requests, and requests naming no AWS action, always pass.

``refuse`` (``Refuse`` rules) answers the requests of an action that carry given parameters, every
time, with an AWS error that depends on the account's state rather than on timing, and counts them
in ``refused``: ``no_capacity(zone)`` (CreateDBInstance in a zone out of capacity for the instance
class), ``snapshot_quota_reached()`` (DeleteDBCluster that would take a final snapshot) and
``region_denied(region)`` (an EC2 action in one region only, as credentials barred from that region).

``hold`` (a ``Hold``) stops the run at one AWS request, deterministically, so that a test can kill
the client there (interruption):

    hold = Hold("CreateVpc", answered=True)
    with FaultProxy(emulator.url, share=0, hold=hold) as proxy:
        ...start ansible-playbook...; hold.reached.wait(); ...kill it...; hold.release()
"""

import hashlib
import http.client
import http.server
import json
import random
import re
import socketserver
import threading
import urllib.parse
import uuid
from collections import Counter
from fractions import Fraction

from tools.emulator.harness import DEFAULT_REGION

ACCOUNT_ID = "123456789012"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
# Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business; everything else is forwarded.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


def classify(method, path, headers, body):
    """(service, region, action, protocol) of a request; protocol is "ec2", "query", "json" or None."""
    authorization = headers.get("Authorization") or ""
    scope = _CREDENTIAL_SCOPE.search(authorization)
    region, service = scope.groups() if scope else (None, None)
    target = headers.get("X-Amz-Target")
    if target:
        return service, region, target.rsplit(".", 1)[-1], "json"
    query = urllib.parse.urlsplit(path).query
    form = body.decode("utf-8", "replace") if body else ""
    for params in (query, form):
        action = urllib.parse.parse_qs(params).get("Action")
        if action:
            return service, region, action[0], "ec2" if service == "ec2" else "query"
    return service, region, None, None


def request_parameters(path, body, protocol):
    """The request's parameters as sent: query string and form (EC2, query APIs), or top-level JSON members."""
    if protocol == "json":
        try:
            document = json.loads(body.decode("utf-8", "replace") or "{}")
        except ValueError:
            return {}
        return {k: v for k, v in document.items() if isinstance(v, str)} if isinstance(document, dict) else {}
    query = urllib.parse.urlsplit(path).query
    form = body.decode("utf-8", "replace") if body else ""
    return dict(urllib.parse.parse_qsl(query) + urllib.parse.parse_qsl(form))


def error_response(protocol, status, code, message, request_id):
    """(status, content-type, body) of an AWS error in ``protocol``, as botocore parses it."""
    if protocol == "ec2":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return status, "text/xml;charset=UTF-8", body
    if protocol == "json":
        return status, "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message})
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, "text/xml", body


def throttle_response(protocol, request_id):
    """(status, content-type, body) of AWS's throttling answer in ``protocol``."""
    if protocol == "ec2":
        return error_response(protocol, 503, "RequestLimitExceeded", "Request limit exceeded.", request_id)
    if protocol == "json":
        return error_response(protocol, 400, "ThrottlingException", "Rate exceeded", request_id)
    return error_response(protocol, 400, "Throttling", "Rate exceeded", request_id)


def deny_response(protocol, service, action, request_id):
    """(status, content-type, body) of AWS's permission error for ``service:action`` in ``protocol``."""
    if protocol == "ec2":
        # What EC2 answers for a mutating action: the action and resource are only in the encoded part.
        encoded = hashlib.sha256(f"{service}:{action}:{request_id}".encode()).hexdigest()
        message = f"You are not authorized to perform this operation. Encoded authorization failure message: {encoded}"
        return error_response(protocol, 403, "UnauthorizedOperation", message, request_id)
    message = (
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/aurora-test is not authorized to perform: {service}:{action} "
        f"because no identity-based policy allows the {service}:{action} action"
    )
    if protocol == "json":
        return error_response(protocol, 400, "AccessDeniedException", message, request_id)
    return error_response(protocol, 403, "AccessDenied", message, request_id)


# A Refuse parameter that matches whatever value the request gives it, as long as it gives one.
ANY = object()


class Refuse:
    """Answer every request of the AWS ``action`` whose parameters include ``params`` with the error ``code``.

    For faults that stay as long as the account's state does (no capacity in a zone, a full quota),
    unlike throttling: a retry is answered the same way. A parameter given as ``ANY`` must be present.
    With a ``region``, only the requests signed for that region (a region the account may not use).
    """

    def __init__(self, action, code, message, params=None, status=400, region=None):
        self.action = action
        self.region = region
        self.code = code
        self.message = message
        self.params = dict(params or {})
        self.status = status
        self.region = region  # None: every region

    def __repr__(self):
        return f"Refuse({self.action!r}, {self.code!r}, params={self.params!r}, region={self.region!r})"

    def matches(self, action, parameters, region=None):
        return (
            action == self.action
            and self.region in (None, region)
            and all(k in parameters if v is ANY else parameters.get(k) == v for k, v in self.params.items())
        )


def no_capacity(zone):
    """CreateDBInstance in ``zone`` refused as by a zone with no capacity left for the instance class."""
    return Refuse(
        "CreateDBInstance",
        "InsufficientDBInstanceCapacity",
        "The specified DB instance class isn't available in the specified Availability Zone.",
        params={"AvailabilityZone": zone},
    )


def region_denied(region, action="DescribeInstances"):
    """EC2's ``action`` in ``region`` refused as for credentials that may not use that region (an SCP, a policy
    condition on aws:RequestedRegion): the other regions answer."""
    return Refuse(
        action,
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
        status=403,
        region=region,
    )


def snapshot_quota_reached():
    """DeleteDBCluster with a final snapshot refused as in an account at its manual snapshot quota."""
    return Refuse(
        "DeleteDBCluster",
        "SnapshotQuotaExceeded",
        "The request would result in the user exceeding the allowed number of DB snapshots.",
        params={"FinalDBSnapshotIdentifier": ANY},
    )


_IDEMPOTENCY_TOKENS = ("ClientToken", "ClientRequestToken")


def _fingerprint(service, method, path, body):
    """What stays the same over every attempt of one logical request.

    botocore signs each attempt anew but resends the body; a retry one level up (AWSRetry calls
    the client again) also gets a new auto-filled idempotency token, which is left out here.
    """
    text = body.decode("utf-8", "replace")
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        text = json.dumps({k: v for k, v in document.items() if k not in _IDEMPOTENCY_TOKENS}, sort_keys=True)
    elif "=" in text:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
        text = urllib.parse.urlencode([(k, v) for k, v in pairs if k not in _IDEMPOTENCY_TOKENS])
    return hashlib.sha256(f"{service}\0{method}\0{path}\0{text}".encode()).hexdigest()


class Hold:
    """Stop at the ``nth`` request of the AWS ``action`` until the test has killed the client.

    ``answered=False``: the request never reaches the emulator. ``answered=True``: the emulator
    carries it out and the proxy keeps its answer, so the resource exists but the client never
    learns its id (only tags set by the creating call itself can find it again). ``region``
    counts only the requests sent to that region: parallel forks reach an action in any order,
    but each ROSA cluster sends its requester-side calls to its own region.

    Once the request arrives, ``reached`` is set, and that request and every AWS request after it
    wait until ``release()`` and are then dropped unanswered, never forwarded: nothing after the
    kill point reaches the emulator, whatever the timing of parallel forks.
    """

    def __init__(self, action, nth=1, answered=False, region=None, timeout=120):
        if nth < 1:
            raise ValueError(f"nth counts from 1, not {nth!r}")
        self.action = action
        self.nth = nth
        self.answered = answered
        self.region = region
        self.timeout = timeout  # a test that never releases must not leave threads behind forever
        self.reached = threading.Event()
        self._released = threading.Event()
        self._count = 0
        self._lock = threading.Lock()

    def __repr__(self):
        return f"Hold({self.action!r}, nth={self.nth}, answered={self.answered}, region={self.region!r})"

    def arrives(self, action, region):
        """Count a request of ``action`` to ``region``; True when it is the one to stop at."""
        with self._lock:
            if action != self.action or self.region not in (None, region):
                return False
            self._count += 1
            return self._count == self.nth

    def stop(self):
        """Signal the test, then wait until it has killed the client."""
        self.reached.set()
        self._released.wait(self.timeout)

    def release(self):
        self._released.set()


class FaultProxy:
    """A threaded HTTP proxy on a free 127.0.0.1 port in front of ``upstream_url``."""

    def __init__(self, upstream_url, share=0.2, deny=(), seed=0, timeout=60, hold=None, refuse=()):
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, not {share!r}")
        upstream = urllib.parse.urlsplit(upstream_url)
        if upstream.scheme != "http" or not upstream.hostname:
            raise ValueError(f"upstream_url must be http://host:port, not {upstream_url!r}")
        self.upstream = (upstream.hostname, upstream.port or 80)
        self.share = Fraction(str(share))  # exact: 0.2 is every fifth request, not almost
        self.deny = frozenset(deny)
        self.refuse = tuple(refuse)
        self.timeout = timeout
        self.hold = hold
        self.injected = Counter()  # (service, action) -> throttles answered by the proxy
        self.denied = Counter()  # (service, action) -> permission errors answered by the proxy
        self.refused = Counter()  # (service, action) -> answers of the refuse rules
        self.seen = Counter()  # (service, action) -> AWS requests received (answered or forwarded)
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # request ids only: the throttling itself is counted
        self._credit = Counter()  # service -> Fraction, the running total above
        self._just_throttled = set()
        self._server = None
        self._thread = None
        self.port = None
        self.url = None

    # lifecycle

    def start(self):
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self.hold is not None:
            self.hold.release()  # no handler thread waits for a test that has finished
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()

    def env(self, region=DEFAULT_REGION):
        """Like Emulator.env, but every AWS request goes through this proxy."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def reset(self):
        """Forget the counters and the throttling state (the rules stay)."""
        with self._lock:
            self.injected.clear()
            self.denied.clear()
            self.refused.clear()
            self.seen.clear()
            self._credit.clear()
            self._just_throttled.clear()

    def report(self):
        """One line per action: seen, throttled, denied; for test output."""
        lines = [f"{'service:action':<48} {'seen':>5} {'throttled':>9} {'denied':>6}"]
        for key in sorted(self.seen, key=lambda k: (str(k[0]), str(k[1]))):
            name = f"{key[0]}:{key[1]}"
            lines.append(f"{name:<48} {self.seen[key]:>5} {self.injected[key]:>9} {self.denied[key]:>6}")
        lines.append(
            f"{'total':<48} {sum(self.seen.values()):>5} {sum(self.injected.values()):>9} "
            f"{sum(self.denied.values()):>6}"
        )
        return "\n".join(lines)

    # the decision

    def decide(self, method, path, headers, body):
        """None to forward the request, or (status, content-type, body) to answer it with."""
        if urllib.parse.urlsplit(path).path.startswith("/moto-api"):
            return None
        service, region, action, protocol = classify(method, path, headers, body)
        if action is None:
            return None
        key = (service, action)
        fingerprint = _fingerprint(service, method, path, body)
        with self._lock:
            self.seen[key] += 1
            request_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            if action in self.deny or key in self.deny:
                self.denied[key] += 1
                return deny_response(protocol, service, action, request_id)
            if self.refuse:
                parameters = request_parameters(path, body, protocol)
                for rule in self.refuse:
                    if rule.matches(action, parameters, region):
                        self.refused[key] += 1
                        return error_response(protocol, rule.status, rule.code, rule.message, request_id)
            # a throttle skipped for a retry falls to the next request, but skipped ones never pile up
            self._credit[service] = min(self._credit[service] + self.share, 2)
            if fingerprint in self._just_throttled or self._credit[service] < 1:
                self._just_throttled.discard(fingerprint)
                return None
            self._credit[service] -= 1
            self._just_throttled.add(fingerprint)
            self.injected[key] += 1
        return throttle_response(protocol, request_id)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # port 0: the kernel picks a free port, bind failures raise


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # answers carry Content-Length and Connection: close

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status, headers, body):
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _handle(self):
        body = self._read_body()
        hold = self.owner.hold
        _service, region, action, _protocol = classify(self.command, self.path, self.headers, body)
        if hold is not None and action is not None and hold.reached.is_set():
            self._drop(hold)  # past the kill point: this request belongs to a client being killed
            return
        fault = self.owner.decide(self.command, self.path, self.headers, body)
        if fault is not None:
            status, content_type, text = fault
            request_id = re.search(r"<Request(?:Id|ID)>([^<]+)<", text)
            headers = [("Content-Type", content_type)]
            headers.append(("x-amzn-RequestId", request_id.group(1) if request_id else str(uuid.uuid4())))
            self._answer(status, headers, text.encode("utf-8"))
            return
        stopping = hold is not None and hold.arrives(action, region)
        if stopping and not hold.answered:
            self._drop(hold)
            return
        status, headers, payload = self._forward(body)
        if stopping or (hold is not None and hold.reached.is_set()):
            self._drop(hold)  # the emulator did it; the client never hears of it
            return
        self._answer(status, headers, payload)

    def _drop(self, hold):
        """Wait until the test has killed the client, then close the connection without an answer."""
        hold.stop()
        self.close_connection = True

    def _forward(self, body):
        """(status, headers, body) of the emulator's answer to this request."""
        connection = http.client.HTTPConnection(*self.owner.upstream, timeout=self.owner.timeout)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    connection.putheader(name, value)
            if body or self.command in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Connection", "close")
            connection.endheaders(body or None)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        except OSError as exc:
            return 502, [("Content-Type", "text/plain")], f"fault proxy: upstream failed: {exc}\n".encode()
        finally:
            connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle
