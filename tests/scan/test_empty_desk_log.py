"""A city whose links are all self-service has no desk log: an empty desk_events (its header
alone; for Parquet a file of no rows with the columns) is scanned. Before, the run was refused
'has no rows: … (nothing to scan)', though a self link into a stranger's account is a typed
wrong ID (0.8)."""

import io

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from madoguchi.scan import schema
from tests.scan.builders import Desk, family

B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"


def _self_service(data, fmt):
    d = Desk()
    family(d)
    d.link("L1", "A", B_OWN, channel="self")
    d.link("L2", "B", B_OWN, channel="self")
    data.mkdir()
    for name, table in d.tables().items():
        if fmt == "csv":
            pacsv.write_csv(table, data / f"{name}.csv")
        else:
            pq.write_table(table, data / f"{name}.parquet")
    return data


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_city_with_only_self_service_links_and_an_empty_desk_log_is_scanned(tmp_path, fmt):
    data = _self_service(tmp_path / "data", fmt)
    assert schema.validate(data)["desk_events"] == 0
    out = tmp_path / "out"
    call_command(
        "scan", "run", str(data), "--out", str(out), "--no-pdf",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    rows = pq.read_table(out / "findings.parquet").to_pylist()
    assert [(r["link_id"], r["cause"], r["score"]) for r in rows] == [("L1", "typed_wrong_id", 0.8)]


def test_an_empty_desk_log_beside_desk_links_is_scanned_without_their_evidence(tmp_path):
    """A desk link with no desk log at all: nothing to compare it with (the row rules and the
    commit lookup need commits), so it is scanned by its names alone, as a desk link whose
    commit the log does not hold always was (0.8: no desk evidence logged)."""
    d = Desk()
    family(d)
    d.link("L1", "A", B_OWN)  # no commit logged
    data = tmp_path / "data"
    d.write(data)
    out = tmp_path / "out"
    call_command(
        "scan", "run", str(data), "--out", str(out), "--no-pdf",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    rows = pq.read_table(out / "findings.parquet").to_pylist()
    assert [(r["link_id"], r["cause"], r["score"]) for r in rows] == [("L1", "typed_wrong_id", 0.8)]
