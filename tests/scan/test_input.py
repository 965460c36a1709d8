"""Bad input: one clear error naming the file and the column, and nothing written."""

import io
import json
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema
from tests.scan.builders import Desk, family


@pytest.fixture
def good(tmp_path):
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(30, "logout")
    return d.write(tmp_path / "in")


def _rewrite(directory, table, fn):
    t = pq.read_table(directory / f"{table}.parquet")
    pq.write_table(fn(t), directory / f"{table}.parquet")


def test_good_input_loads_as_parquet_and_as_csv(good, tmp_path):
    tables = schema.load(good)
    assert tables["links"].num_rows == 1
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in tables.items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    again = schema.load(csv_dir)
    assert (
        again["links"].column("linked_at").to_pylist()
        == tables["links"].column("linked_at").to_pylist()
    )
    assert again["desk_events"].column("resident_id").null_count == 2  # login, logout


def test_missing_column(good):
    _rewrite(good, "links", lambda t: t.drop_columns(["holder_kana"]))
    with pytest.raises(schema.InputError) as exc:
        schema.load(good)
    assert exc.value.file.endswith("links.parquet")
    assert exc.value.column == "holder_kana"
    assert "missing column" in str(exc.value)


def test_unknown_programme(good):
    _rewrite(
        good,
        "links",
        lambda t: t.set_column(1, "programme", pa.array(["mynapoint_3"])),
    )
    with pytest.raises(
        schema.InputError,
        match=r"links.parquet, column 'programme': row 2 has unknown value 'mynapoint_3'",
    ):
        schema.load(good)


def test_wrong_type_in_csv(good, tmp_path):
    tables = schema.load(good)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    for name, table in tables.items():
        pacsv.write_csv(table, csv_dir / f"{name}.csv")
    text = (csv_dir / "desk_events.csv").read_text()
    (csv_dir / "desk_events.csv").write_text(
        re.sub(r"2022-08-01 09:01:00(\.0+)?", "yesterday", text)
    )
    with pytest.raises(
        schema.InputError,
        match=r"desk_events.csv, column 'at': row \d+ has 'yesterday', not a date and time",
    ):
        schema.load(csv_dir)


def test_wrong_type_in_parquet(good):
    _rewrite(good, "links", lambda t: t.set_column(6, "linked_at", pa.array([1.5])))
    with pytest.raises(schema.InputError, match=r"column 'linked_at': expected timestamp"):
        schema.load(good)


def test_required_value_empty(good):
    _rewrite(
        good, "residents", lambda t: t.set_column(1, "name_kana", pa.array(["", "x", "y", "z"]))
    )
    with pytest.raises(
        schema.InputError, match=r"residents.parquet, column 'name_kana': row 2 is empty"
    ):
        schema.load(good)


def test_missing_table_and_unsupported_version(good):
    (good / "format.json").write_text(json.dumps({"format": "madoguchi-scan", "version": 2}))
    with pytest.raises(schema.InputError, match="version 2 is not supported"):
        schema.load(good)
    (good / "format.json").unlink()
    (good / "residents.parquet").unlink()
    with pytest.raises(schema.InputError, match=r"residents\.parquet: missing"):
        schema.load(good)


def test_the_command_refuses_bad_input_and_writes_nothing(good, tmp_path):
    _rewrite(good, "links", lambda t: t.drop_columns(["channel"]))
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"links.parquet, column 'channel': missing column"):
        call_command("scan", "run", str(good), "--out", str(out))
    assert not out.exists()


def test_explain_prints_each_rules_plan_and_writes_nothing(good, tmp_path):
    out = io.StringIO()
    call_command("scan", "run", str(good), "--out", str(tmp_path / "out"), "--explain", stdout=out)
    text = out.getvalue()
    for rule in (
        "family_account.v1",
        "lent_terminal.v1",
        "logout_omission.v1",
        "wrong_card.v1",
        "typed_wrong_id.v1",
    ):
        assert f"== {rule}" in text
    assert "WINDOW" in text.upper()
    assert "JOIN" in text.upper()
    assert not (tmp_path / "out").exists()
