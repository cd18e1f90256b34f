import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, make_token  # noqa: E402


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
