import pytest

pytest_plugins = [
    "tests.fixtures.infra",
    "tests.fixtures.databases",
    "tests.fixtures.auth",
    "tests.fixtures.cases",
    "tests.fixtures.activation",
]

# Reads every intake event the suite published to its broker, so it must run after every other test.
PRIVACY_PROOF = "tests/privacy/test_intake_events_carry_no_personal_data.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.nodeid.split("::", 1)[0].endswith(PRIVACY_PROOF)]
    if last:
        chosen = {id(item) for item in last}
        items[:] = [item for item in items if id(item) not in chosen] + last


@pytest.fixture(scope="session")
def intake_events_on_the_broker() -> set[str]:
    """Ids (``ce_id``) of intake events tests saw published to the session's broker; the privacy proof at the end
    of the run checks that it read every one of them (proof that it read the suite's events, not just some)."""
    return set()
