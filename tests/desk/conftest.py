import pytest

from madoguchi.terminals import services as terminal_services
from tests import factories


@pytest.fixture
def desk(db):
    """A terminal with desk staff signed in on it (an open desk session)."""
    terminal = factories.terminal()
    return terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())


@pytest.fixture
def other_desk(db):
    terminal = factories.terminal()
    return terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
