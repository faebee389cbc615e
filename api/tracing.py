"""Tracing with OpenTelemetry: a span for every request, and one for every
statement sent to PostgreSQL, exported as the settings say.

Imported only when tracing is on (`Settings.tracing`: FACTLEDGER_OTEL_ENABLED,
or OTEL_EXPORTER_OTLP_ENDPOINT set) and it needs the optional extra:
`pip install 'factledger[otel]'`. The OTLP exporter (http/protobuf) reads
OpenTelemetry's own variables (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, ...);
OTEL_SERVICE_NAME names the service, `factledger` by default.

The spans go to a tracer provider of the app's own, not to the global one:
FastAPI's native telemetry, which follows the global provider, stays off,
and so does any other library's.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from factledger.settings import Settings

__all__ = ["Tracing", "trace_app"]

UNTRACED_PATHS: Final = "healthz,readyz,metrics"
"""Probes and scrapes: frequent, and of no interest in a trace."""


class Tracing:
    """Requests and database calls traced, until `close`."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider

    def close(self) -> None:
        """Sends the spans still held, and stops tracing database calls."""
        PsycopgInstrumentor().uninstrument()
        self.provider.shutdown()


def trace_app(app: FastAPI, settings: Settings) -> Tracing:
    """Traces `app`'s requests, and every PostgreSQL connection opened from now
    on (call it before the ledger is opened)."""
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(_processor(settings))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],  # one span per request, not per message
    )
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    return Tracing(provider)


def _processor(settings: Settings) -> SpanProcessor:
    if settings.otel_traces_exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter())
    return BatchSpanProcessor(OTLPSpanExporter())


def _resource() -> Resource:
    """OpenTelemetry's resource from its variables, named `factledger` unless
    OTEL_SERVICE_NAME names it."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: "factledger"}))
    return detected
