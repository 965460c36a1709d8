import pytest

from madoguchi.scan import engine
from tests.scan.builders import Desk, family


@pytest.fixture(scope="module")
def duck():
    with engine.connect("duckdb", threads=2) as eng:
        yield eng


def findings_of(eng, desk):
    """Run the rules on a hand-made input; {link_id: finding row}."""
    tables = eng.register(desk.tables())
    rows = eng.to_arrow(eng.findings(tables)).to_pylist()
    return {r["link_id"]: r for r in rows}


@pytest.fixture
def good(tmp_path):
    """A valid input: one family, one visit with one link, in a session."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(30, "logout")
    return d.write(tmp_path / "in")
