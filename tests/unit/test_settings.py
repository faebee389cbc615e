"""Settings read from the environment: tracing is on when configured (by our
setting or by OpenTelemetry's own), and a wrong one is named by its variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from factledger.settings import Settings


@pytest.mark.parametrize(
    ("environment", "traced"),
    [
        ({}, False),
        ({"FACTLEDGER_OTEL_ENABLED": "true"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"FACTLEDGER_OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"FACTLEDGER_OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, True),
    ],
)
def test_tracing_is_on_only_when_configured(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], traced: bool
) -> None:
    for name in ("FACTLEDGER_OTEL_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings().tracing is traced


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OTEL_TRACES_EXPORTER", "zipkin"), ("FACTLEDGER_HISTORY_CACHE_MIB", "0")],
)
def test_a_wrong_setting_is_named_by_the_variable_it_is_read_from(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert Settings.variable(str(error["loc"][0])) == variable


@pytest.mark.parametrize(
    ("value", "valid"), [("43200", True), ("60", True), ("43201", False), ("59", False)]
)
def test_a_page_session_lasts_at_most_twelve_hours(
    monkeypatch: pytest.MonkeyPatch, value: str, valid: bool
) -> None:
    monkeypatch.setenv("FACTLEDGER_SESSION_SECONDS", value)
    if valid:
        assert Settings().session_seconds == int(value)
    else:
        with pytest.raises(ValidationError, match="session_seconds"):
            Settings()


def test_the_publisher_of_claimreviews_defaults_to_the_public_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACTLEDGER_PUBLIC_BASE_URL", "https://ledger.example/")
    monkeypatch.setenv("FACTLEDGER_PUBLISHER_NAME", "Example Fact Desk")
    publisher = Settings().publisher
    assert (publisher.base_url, publisher.name, publisher.url) == (
        "https://ledger.example",
        "Example Fact Desk",
        "https://ledger.example",
    )
    monkeypatch.setenv("FACTLEDGER_PUBLISHER_URL", "https://desk.example")
    assert Settings().publisher.url == "https://desk.example"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FACTLEDGER_PUBLIC_BASE_URL", "ledger.example"),
        ("FACTLEDGER_PUBLISHER_URL", "ftp://desk.example"),
        ("FACTLEDGER_PUBLISHER_NAME", ""),
        ("FACTLEDGER_RATING_LABELS_FILE", "/nonexistent/labels.json"),
    ],
)
def test_a_claimreview_setting_that_cannot_be_used_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
