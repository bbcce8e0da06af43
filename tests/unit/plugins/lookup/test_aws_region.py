import pytest

from ansible_collections.keycloak.aurora.plugins.lookup.aws_region import configured_region


@pytest.fixture
def aws_config(tmp_path, monkeypatch):
    """An AWS config file with a default profile and a profile `site`, and no AWS_* variable but its path."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-west-2\n\n[profile site]\nregion = eu-central-1\n\n[profile bare]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return monkeypatch


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_PROFILE": "site"}, "eu-central-1"),
        ({}, "us-west-2"),
        ({"AWS_PROFILE": "bare"}, ""),
        ({"AWS_PROFILE": "nowhere"}, ""),
        ({"AWS_PROFILE": "site", "AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        ({"AWS_PROFILE": "site", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "eu-west-1"}, "eu-west-1"),
    ],
)
def test_the_environment_wins_then_the_profile(aws_config, environ, expected):
    for name, value in environ.items():
        aws_config.setenv(name, value)

    assert configured_region() == expected
