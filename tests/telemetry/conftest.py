"""The OpenTelemetry SDK with in-memory exporters, installed once for the test process (the
global providers can be set only once); each test reads what was recorded while it ran.
Outside the tests that ask for `recorded`, spans and audit log records are not kept."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reconciler.telemetry.setup import AUDIT_LOGGER


class _WhileRecording(SimpleSpanProcessor):
    """Keeps spans only while a test records (other tests' spans would pile up)."""

    recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            super().on_end(span)


@dataclass
class Recorded:
    spans: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    span_processor: _WhileRecording
    log_handler: LoggingHandler

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def sums(self, name: str) -> dict[frozenset[tuple[str, object]], float]:
        """Counter totals by attribute set (cumulative since the process began)."""
        return {frozenset(point.attributes.items()): point.value for point in self._points(name)}

    def histogram_counts(self, name: str) -> dict[frozenset[tuple[str, object]], int]:
        return {frozenset(point.attributes.items()): point.count for point in self._points(name)}

    def _points(self, name: str) -> list:
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


_SESSION: Recorded | None = None


def _install() -> Recorded:
    global _SESSION
    if _SESSION is None:
        spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        processor = _WhileRecording(spans)
        tracer_provider.add_span_processor(processor)
        trace.set_tracer_provider(tracer_provider)
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        logs = InMemoryLogRecordExporter()
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        handler = LoggingHandler(logger_provider=logger_provider)
        _SESSION = Recorded(spans, reader, logs, processor, handler)
    return _SESSION


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    session = _install()
    session.spans.clear()
    session.logs.clear()
    audit_logger = logging.getLogger(AUDIT_LOGGER)
    level = audit_logger.level
    audit_logger.setLevel(logging.INFO)  # as `setup.enable_from_env` sets it
    audit_logger.addHandler(session.log_handler)
    session.span_processor.recording = True
    try:
        yield session
    finally:
        session.span_processor.recording = False
        audit_logger.removeHandler(session.log_handler)
        audit_logger.setLevel(level)
        session.spans.clear()
        session.logs.clear()
