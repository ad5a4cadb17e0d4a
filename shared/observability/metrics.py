"""Prometheus metrics. One process runs one service; the ``service`` label tells them apart anyway."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HANDLER_LATENCY = Histogram(
    "oslonac_handler_duration_seconds",
    "Time to apply one event in its transaction",
    ["service", "event_type"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
EVENTS_PROCESSED = Counter(
    "oslonac_events_processed",
    "Events taken from the broker, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["service", "event_type", "outcome"],
)
CONSUMER_LAG = Gauge(
    "oslonac_consumer_lag", "Records behind the end of the partition", ["service", "topic", "partition"]
)
OUTBOX_BACKLOG = Gauge("oslonac_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("oslonac_outbox_published", "Outbox rows published", ["service"])
DLQ_TOTAL = Counter("oslonac_dlq_messages", "Records sent to a dead-letter topic", ["service", "topic"])
