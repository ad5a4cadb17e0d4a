import pytest

pytest_plugins = [
    "tests.fixtures.privacy",
    "tests.fixtures.infra",
    "tests.fixtures.databases",
    "tests.fixtures.auth",
    "tests.fixtures.cases",
    "tests.fixtures.activation",
]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (with --dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that share a fixture of their module (a platform, a browser, a served service) run on one worker, so
    that the fixture starts once; every other test goes to whichever worker is free."""
    for item in items:
        module = getattr(item, "module", None)
        if module is None:
            continue
        definitions = [d for ds in item._fixtureinfo.name2fixturedefs.values() for d in ds]
        if any(d.scope == "module" and d.func.__module__ == module.__name__ for d in definitions):
            item.add_marker(pytest.mark.xdist_group(module.__name__))
