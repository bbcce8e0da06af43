"""Start, reset and inspect the moto emulator (tools/emulator/moto_server.py) from tests.

with Emulator.start() as emu:
    env = {**os.environ, **emu.env()}       # for ansible-playbook subprocesses
    emu.client("ec2").describe_vpcs()
    emu.start_recording(); ...; emu.mutating_actions()
    emu.save_state("peered"); ...; emu.restore_state("peered")   # a shared start, copied back (state.py)

with Emulator.start(aws_time={"instance_create": 2}) as emu:   # opt in: resources take time (aws_time.py)
    with emu.instant(): seed_rosa_cluster(emu, "rosa")         # fixtures without transitions
    emu.advance(5)                                             # what would happen in 5 s happens now
"""

import base64
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

LAUNCHER = Path(__file__).resolve().with_name("moto_server.py")
DEFAULT_REGION = "eu-west-1"
# The account moto gives the credentials of env() and client(): every access key it does not know.
DEFAULT_ACCOUNT_ID = "123456789012"
START_TIMEOUT = 30.0
API_TIMEOUT = 180.0
# The regions enabled in the emulated account: those the tests and the demo use, and one more, so
# that the CIDR scan of every enabled region runs concurrently over several regions.
ENABLED_REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2")

# Actions that read although their names do not say so; everything else not starting with a
# read prefix counts as mutating (so an unknown action is never mistaken for a harmless one).
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Lookup", "Search")
READ_ACTIONS = frozenset({"GetCallerIdentity", "GetSecretValue", "DownloadDBLogFilePortion"})
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class EmulatorError(RuntimeError):
    pass


def _header(headers, name):
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), None)


def request_action(entry):
    """(service, action) of one recorded request; action is None when it names none (REST APIs)."""
    headers = entry.get("headers") or {}
    match = _CREDENTIAL_SCOPE.search(_header(headers, "Authorization") or "")
    service = match.group(1) if match else None
    target = _header(headers, "X-Amz-Target")
    if target:  # JSON protocol: "secretsmanager.CreateSecret"
        return service, target.rsplit(".", 1)[-1]
    action = request_parameters(entry).get("Action")
    return service, action[0] if action else None


def request_body(entry):
    """The body of one recorded request as text (the recorder base64-encodes some)."""
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return body


def request_parameters(entry):
    """{name: [values]} of a query-protocol request (EC2, RDS, STS), from its URL and its form body."""
    parameters = urllib.parse.parse_qs(urllib.parse.urlsplit(entry.get("url", "")).query)
    for name, values in urllib.parse.parse_qs(request_body(entry)).items():
        parameters.setdefault(name, []).extend(values)
    return parameters


def is_mutating(action, method=None):
    if action is None:  # REST request without an action name: judge by the HTTP method
        return (method or "POST").upper() not in ("GET", "HEAD")
    return not (action.startswith(READ_PREFIXES) or action in READ_ACTIONS)


class Emulator:
    """One moto server process on a free 127.0.0.1 port."""

    def __init__(self, process, port, log_path, workdir):
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._workdir = workdir

    @classmethod
    def start(cls, log_path=None, timeout=START_TIMEOUT, regions=ENABLED_REGIONS, aws_time=None):
        """aws_time: None for moto's instant behaviour; a scale of AWS's typical durations (aws_time.py,
        e.g. aws_time.DEFAULT_SCALE); or {name: seconds} for some durations, the others scaled by the
        default scale."""
        workdir = tempfile.TemporaryDirectory(prefix="emulator-")
        port_file = Path(workdir.name) / "port"
        log_path = Path(log_path) if log_path else Path(workdir.name) / "moto_server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(LAUNCHER), "--port", "0", "--port-file", str(port_file), "--exit-with-parent"]
        if regions:
            cmd += ["--regions", ",".join(regions)]
        if isinstance(aws_time, dict):
            cmd += ["--aws-time-durations", json.dumps(aws_time)]
        elif aws_time is not None:
            cmd += ["--aws-time", str(float(aws_time))]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        emulator = None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise EmulatorError(f"moto_server exited with {process.returncode}:\n{_tail(log_path)}")
                if emulator is None and port_file.exists():
                    emulator = cls(process, int(port_file.read_text()), log_path, workdir)
                if emulator is not None and emulator._alive():
                    return emulator
                time.sleep(0.1)
            raise EmulatorError(f"moto_server did not answer within {timeout:.0f}s:\n{_tail(log_path)}")
        except BaseException:
            _terminate(process)
            workdir.cleanup()
            raise

    def _alive(self):
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, timeout=10):
        if self.process is not None:
            _terminate(self.process, timeout)
            self.process = None
            self._workdir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def env(self, region=DEFAULT_REGION):
        """Environment for subprocesses (ansible-playbook, aws CLI) to reach this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,  # honoured by botocore
            "AWS_URL": self.url,  # AnsibleAWSModule's own endpoint_url fallback
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service, region=DEFAULT_REGION, config=None, credentials=None):
        """A boto3 client of the default account (DEFAULT_ACCOUNT_ID), or of the account whose
        ``credentials`` (as assume_role returns them) are given."""
        import boto3

        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if credentials:
            keys = {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            }
        return boto3.client(service, region_name=region, endpoint_url=self.url, config=config, **keys)

    def assume_role(self, role_arn, session_name="emulator-test"):
        """Credentials of the account in ``role_arn``: moto maps the keys AssumeRole returns to that account,
        whether or not the role exists, as it maps every unknown key to DEFAULT_ACCOUNT_ID."""
        return self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]

    def assumed_roles(self):
        """Every session AssumeRole handed out since the last reset, with its credentials (dicts: session_name,
        access_key_id, secret_access_key, session_token, role_arn; tools/emulator/sessions.py): a test can then
        check that the temporary credentials a module obtained never show in its output."""
        return json.loads(self._api("sessions", method="GET"))

    def _api(self, path, method="POST"):
        request = urllib.request.Request(
            f"{self.url}/moto-api/{path}", data=b"" if method == "POST" else None, method=method
        )
        # Generous: a reset rebuilds every regional backend moto has loaded, which takes long on a
        # busy 2-core machine running other ansible-playbook processes at the same time.
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
            return response.read().decode("utf-8")

    def reset(self):
        """Forget every AWS resource, and stop and clear the recorder, so each test starts clean."""
        self._api("reset")
        self._api("recorder/stop-recording")
        self._api("recorder/reset-recording")

    def save_state(self, name):
        """Keep a copy of every resource the emulator holds now, as ``name`` (instant mode; state.py)."""
        self._api(f"state/save?name={urllib.parse.quote(name)}")

    def restore_state(self, name):
        """Replace every resource the emulator holds by a fresh copy of what was saved as ``name``."""
        self._api(f"state/restore?name={urllib.parse.quote(name)}")

    def aws_time(self):
        """The AWS time mode's state ({durations, clock, timed}); fails when the mode is off."""
        return json.loads(self._api("aws-time", method="GET"))

    def advance(self, seconds):
        """AWS time mode: move the emulator's clock forward, so that what would happen in `seconds` happens now."""
        return json.loads(self._api(f"aws-time/advance?seconds={float(seconds)}"))

    @contextlib.contextmanager
    def instant(self):
        """AWS time mode: requests made meanwhile behave as in the instant mode (e.g. to seed fixtures)."""
        self._api("aws-time/instant")
        try:
            yield self
        finally:
            self._api("aws-time/timed")

    def start_recording(self):
        # moto's start-recording only flips a flag and keeps appending to the old log: clear it first.
        self._api("recorder/reset-recording")
        self._api("recorder/start-recording")

    def stop_recording(self):
        self._api("recorder/stop-recording")

    def recorded_requests(self):
        """Recorded requests in arrival order (dicts: method, url, headers, body, body_encoded, and time:
        when the request arrived, seconds since the epoch)."""
        text = self._api("recorder/download-recording", method="GET")
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [e for e in entries if not urllib.parse.urlsplit(e.get("url", "")).path.startswith("/moto-api")]

    def recorded_actions(self):
        """[(service, action)] in order; action is None for REST requests that name no action."""
        return [request_action(entry) for entry in self.recorded_requests()]

    def mutating_actions(self):
        return [
            (service, action)
            for entry in self.recorded_requests()
            for service, action in [request_action(entry)]
            if is_mutating(action, entry.get("method"))
        ]


def _terminate(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
