"""Small stand-ins shared by the unit tests' fake boto3 clients."""


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
