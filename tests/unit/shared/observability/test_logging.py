"""Every line a process writes is one JSON object, library loggers included; an outage is two lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from shared.observability.logging import RepeatFilter, configure_logging
from shared.observability.outage import Outage


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Logging configured as a service configures it (inside the test: the captured stderr changes between a
    fixture's set-up and the test), restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        yield capsys
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def start() -> None:
    configure_logging("test-service", fmt="json", level="INFO")


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]  # any other line fails the test here


def test_library_loggers_write_json_lines_with_the_service(json_logs: pytest.CaptureFixture[str]) -> None:
    start()
    logging.getLogger("oslonac.proxy").warning("proxy: %s upstream %s:%d unreachable", "intake", "127.0.0.1", 9)
    logging.getLogger("uvicorn.error").error("boom")
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("aiokafka.conn").exception("Unexpected exception in AIOKafkaConnection")
    structlog.get_logger("x").info("intake.household.registered", households=1)

    found = lines(json_logs)
    by_event = {line["event"]: line for line in found}
    proxy = by_event["proxy: intake upstream 127.0.0.1:9 unreachable"]
    assert proxy["level"] == "warning" and proxy["logger"] == "oslonac.proxy" and proxy["service"] == "test-service"
    assert by_event["boom"]["logger"] == "uvicorn.error"
    assert "ValueError: broken" in by_event["Unexpected exception in AIOKafkaConnection"]["exception"]
    assert by_event["intake.household.registered"]["households"] == 1
    assert all("timestamp" in line for line in found)


def test_a_library_repeating_itself_is_let_through_once_per_window(json_logs: pytest.CaptureFixture[str]) -> None:
    start()
    for _ in range(500):
        logging.getLogger("aiokafka.client").error("Unable connect to node with id %s: %s", 1, "refused")
    logging.getLogger("aiokafka").info("chatter below warning is dropped")
    found = lines(json_logs)
    assert [line["event"] for line in found] == ["Unable connect to node with id 1: refused"]


def test_the_first_line_after_the_window_says_how_many_were_held_back() -> None:
    now = [0.0]
    kept = RepeatFilter(window_s=60, clock=lambda: now[0])
    record = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, "Heartbeat failed: %r", ("x",), None)
    passed = []
    for second in range(0, 130, 1):
        now[0] = float(second)
        if kept.filter(record):
            passed.append((second, getattr(record, "repeated", 0)))
    assert passed == [(0, 0), (60, 59), (120, 59)]


def test_an_outage_is_logged_when_it_starts_and_when_it_ends_with_the_count(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    start()
    now = [100.0]
    outage = Outage("outbox.broker", {"service": "intake"}, logger=structlog.get_logger("t"), clock=lambda: now[0])
    for _ in range(2300):
        outage.failed(ConnectionRefusedError("refused"))
        now[0] += 0.01
    assert outage.ongoing
    assert outage.recovered()
    assert not outage.recovered()  # nothing more to say until the next outage
    found = lines(json_logs)
    assert [line["event"] for line in found] == ["outbox.broker_unavailable", "outbox.broker_recovered"]
    assert found[0]["level"] == "warning" and "refused" in found[0]["error"]
    assert found[1]["failures"] == 2300 and found[1]["duration_s"] == pytest.approx(23.0)
    assert found[1]["service"] == "intake"
