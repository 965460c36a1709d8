import pytest

from madoguchi.scan import engine


@pytest.fixture(scope="module")
def duck():
    with engine.connect("duckdb", threads=2) as eng:
        yield eng


def findings_of(eng, desk):
    """Run the rules on a hand-made input; {link_id: finding row}."""
    tables = eng.register(desk.tables())
    rows = eng.to_arrow(eng.findings(tables)).to_pylist()
    return {r["link_id"]: r for r in rows}
