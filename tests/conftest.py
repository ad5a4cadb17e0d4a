pytest_plugins = [
    "tests.fixtures.infra",
    "tests.fixtures.databases",
    "tests.fixtures.auth",
]
