"""Small stand-ins shared by the unit tests' fake boto3 clients."""

import botocore.exceptions


class FakeClock:
    """A monotonic clock whose sleep only moves time forward: waits are instant and measurable."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeMeta:
    def __init__(self, region_name):
        self.region_name = region_name


class FakePaginator:
    """``client.get_paginator(name)``: one page holding whatever the fake's method answers."""

    def __init__(self, method):
        self.method = method

    def paginate(self, **kwargs):
        method = self.method

        class Pages:
            def build_full_result(self):
                return method(**kwargs)

        return Pages()


class FakeSecretsManager:
    """Records every call; holds at most one secret."""

    def __init__(self, existing=None):
        self.existing = existing
        self.calls = []

    def describe_secret(self, SecretId):
        self.calls.append(("describe_secret", SecretId))
        if self.existing is None:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}}, "DescribeSecret"
            )
        return self.existing

    def create_secret(self, **params):
        self.calls.append(("create_secret", params))
        self.existing = {"Name": params["Name"], "ARN": "arn:secret:" + params["Name"]}
        return self.existing

    def restore_secret(self, SecretId):
        self.calls.append(("restore_secret", SecretId))
        self.existing = {k: v for k, v in self.existing.items() if k != "DeletedDate"}

    def put_secret_value(self, **params):
        self.calls.append(("put_secret_value", params))
        return {"VersionId": f"v{len(self.calls)}"}

    def update_secret_version_stage(self, **params):
        self.calls.append(("update_secret_version_stage", params))

    def delete_secret(self, **params):
        self.calls.append(("delete_secret", params))

    def get_secret_value(self, SecretId):
        self.calls.append(("get_secret_value", SecretId))
        return {"SecretString": self.existing["SecretString"]}

    def mutating_calls(self):
        return [c for c in self.calls if not c[0].startswith(("describe", "get"))]
