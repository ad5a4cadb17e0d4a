from collections.abc import Generator

import pytest

pytest_plugins = [
    "tests.fixtures.privacy",
    "tests.fixtures.infra",
    "tests.fixtures.databases",
    "tests.fixtures.auth",
    "tests.fixtures.cases",
    "tests.fixtures.activation",
]


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None]:
    """Tests that share a fixture of their module (a platform, a browser, a served service) run on one worker, so
    that the fixture starts once; every other test goes to whichever worker is free (``--dist loadgroup``)."""
    for item in items:
        module = getattr(item, "module", None)
        if module is None:
            continue
        definitions = [d for ds in item._fixtureinfo.name2fixturedefs.values() for d in ds]
        if any(d.scope == "module" and d.func.__module__ == module.__name__ for d in definitions):
            item.add_marker(pytest.mark.xdist_group(module.__name__))
    yield
    if getattr(config.option, "loadgroup", False):  # a worker of a --dist loadgroup run
        for item in items:
            _name_the_group(item)


def _name_the_group(item: pytest.Item) -> None:
    """The group in the test's id, which is what pytest-xdist schedules by. pytest-xdist 3.8 writes it to
    ``item._nodeid``, which pytest 9.2 no longer reads (it keeps the id in ``item._id``): without this, every
    test of a group may go to any worker, and a module's platform or browser starts once per worker."""
    groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                     for mark in item.iter_markers("xdist_group")})  # fmt: skip
    if not groups:
        return
    grouped = f"{item.nodeid.rsplit('@', 1)[0] if '@' in item.nodeid else item.nodeid}@{'_'.join(groups)}"
    if item.nodeid == grouped:
        return
    if hasattr(item, "_id"):
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(grouped)
    else:
        item._nodeid = grouped
