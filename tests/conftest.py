"""Shared pytest configuration: fixtures live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.cluster",
    "tests.fixtures.scenario",
]
