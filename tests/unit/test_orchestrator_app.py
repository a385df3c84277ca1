"""Choosing the app environment and its health URL."""

from qaagent.config.models import AppEnvironment
from qaagent.execute.app import health_url, is_healthy, pick_environment

LOCAL = AppEnvironment(base_url="http://127.0.0.1:8000/", health_endpoint="/health")
STAGING = AppEnvironment(base_url="https://staging.example")


def test_local_is_the_default_environment_else_the_first() -> None:
    assert pick_environment({"staging": STAGING, "local": LOCAL}, None) == "local"
    assert pick_environment({"staging": STAGING}, None) == "staging"
    assert pick_environment({"staging": STAGING, "local": LOCAL}, "staging") == "staging"
    assert pick_environment({"local": LOCAL}, "prod") is None
    assert pick_environment({}, None) is None


def test_health_url_joins_a_path_to_the_base_url_or_takes_a_full_url() -> None:
    assert health_url(LOCAL) == "http://127.0.0.1:8000/health"
    assert health_url(STAGING) == "https://staging.example"
    full = AppEnvironment(base_url="http://a", health_endpoint="http://b/ready")
    assert health_url(full) == "http://b/ready"


def test_a_health_endpoint_needs_2xx_a_bare_base_url_any_answer_below_500() -> None:
    assert is_healthy(204, strict=True)
    assert not is_healthy(404, strict=True)
    assert is_healthy(404, strict=False)
    assert not is_healthy(503, strict=False)
    assert not is_healthy(None, strict=False)
