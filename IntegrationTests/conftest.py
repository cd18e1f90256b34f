import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stack import BACKEND, Stack, make_token  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "single_backend: runs in the SQLite pass only: it tests SQLite itself, "
                            "or something no backend changes (docs, deployment, the dispatcher, JWKS)")
    config.addinivalue_line("markers", "postgres_only: needs the PostgreSQL server (TODO_TEST_POSTGRES)")


def pytest_collection_modifyitems(config, items):
    """The suite runs once per backend: each pass deselects (never skips) the other's tests."""
    unwanted = "single_backend" if BACKEND == "postgresql" else "postgres_only"
    kept = [item for item in items if unwanted not in item.keywords]
    deselected = [item for item in items if unwanted in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def stack():
    s = Stack().start()
    yield s
    s.stop()


@pytest.fixture
def user(request):
    """A user id unique to the test, so tests sharing the stack never see each other's tasks."""
    return "u-" + request.node.name.replace("[", "-").replace("]", "")[:80]


@pytest.fixture
def token(user):
    return make_token(user)
