"""`madoguchi namecheck` and `madoguchi bench`, called through call_command (no database)."""

import csv
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_two_names():
    out = run("namecheck", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ")
    assert out.startswith("match EXACT_AFTER_NORMALISATION")
    assert "ヤマダ タロウ / ヤマダ タロウ" in out


def test_close_shows_the_account_name_and_japanese_text():
    out = run("namecheck", "ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ", "--lang", "ja")
    assert out.startswith("close GIVEN_NAME_DIFFERS")
    assert "account name to show: ﾔﾏﾀﾞ ｼﾞﾛｳ" in out
    assert "姓は一致" in out


def test_one_name_means_no_account_name():
    data = json.loads(run("namecheck", "ヤマダ タロウ", "--json"))
    assert data["outcome"] == "unavailable"
    assert data["reason"] == "NAME_UNAVAILABLE"


def test_json_for_one_pair():
    data = json.loads(run("namecheck", "サカイ ハナコ", "ｽｽﾞｷ ｲﾁﾛｳ", "--json"))
    assert data["outcome"] == "no_match"
    assert data["reason"] == "DIFFERENT"
    assert data["account_display"] is None


@pytest.fixture
def pairs_csv(tmp_path):
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["resident", "account"])
        writer.writerow(["やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"])
        writer.writerow(["サカイ ハナコ", "ｻｶｲ ﾊﾅｺ"])
        writer.writerow(["ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ"])
        writer.writerow(["ヤマダ タロウ", ""])
        writer.writerow(["すずき きょうこ", "ｽｽﾞｷ ｷﾖｳｺ"])
    return path


def test_csv_to_stdout(pairs_csv):
    rows = list(csv.DictReader(io.StringIO(run("namecheck", "--csv", str(pairs_csv)))))
    assert [(r["outcome"], r["reason"]) for r in rows] == [
        ("match", "EXACT_AFTER_NORMALISATION"),
        ("match", "EXACT_AFTER_NORMALISATION"),
        ("no_match", "DIFFERENT"),
        ("unavailable", "NAME_UNAVAILABLE"),
        ("match", "SMALL_KANA_FOLDED"),
    ]
    assert rows[0]["resident_normalised"] == "ヤマダ タロウ"


def test_csv_to_json_file(pairs_csv, tmp_path):
    target = tmp_path / "out.json"
    out = run("namecheck", "--csv", str(pairs_csv), "--json", "--output", str(target))
    assert "5 pairs checked" in out
    assert "no_match 1" in out
    data = json.loads(target.read_text(encoding="utf-8"))
    assert [d["outcome"] for d in data] == ["match", "match", "no_match", "unavailable", "match"]


def test_csv_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,other\nA,B\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        run("namecheck", "--csv", str(path))


def test_a_device_or_a_directory_as_the_csv_is_refused(tmp_path):
    """`--csv /dev/zero` was read until memory ran out."""
    with pytest.raises(CommandError, match="not a regular file"):
        run("namecheck", "--csv", "/dev/zero")
    with pytest.raises(CommandError, match="it is a directory"):
        run("namecheck", "--csv", str(tmp_path))


def test_missing_file_and_wrong_arguments_are_refused(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("namecheck", "--csv", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="two names"):
        run("namecheck")


def _hostile_csv(tmp_path):
    path = tmp_path / "hostile.csv"
    path.write_text(
        'resident,account\n=HYPERLINK("https://evil.example/"),ヤマダ タロウ\n'
        "ヤマダ タロウ,@SUM(1)\n+1,-2\n",
        encoding="utf-8",
    )
    return path


def test_a_name_a_spreadsheet_would_run_is_written_as_text(tmp_path):
    """Names starting with = + - @ went into the CSV as they were: formulas when an official
    opened the results in a spreadsheet."""
    target = tmp_path / "out.csv"
    run("namecheck", "--csv", str(_hostile_csv(tmp_path)), "--output", str(target))
    for text in (
        target.read_text(encoding="utf-8"),
        run("namecheck", "--csv", str(_hostile_csv(tmp_path))),
    ):
        rows = list(csv.DictReader(io.StringIO(text)))
        cells = [v for r in rows for k, v in r.items() if k not in ("score",)]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
        assert rows[0]["resident"] == '\'=HYPERLINK("https://evil.example/")'
        assert rows[1]["account"] == "'@SUM(1)"
    # JSON keeps the names as they are (no spreadsheet reads it).
    data = json.loads(run("namecheck", "--csv", str(_hostile_csv(tmp_path)), "--json"))
    assert data[0]["resident"].startswith("=")


def test_an_output_that_cannot_be_written_is_a_plain_error_and_nothing_half_written(tmp_path):
    """A directory or a missing folder as --output was a traceback."""
    source = _hostile_csv(tmp_path)
    with pytest.raises(CommandError, match="it is a directory"):
        run("namecheck", "--csv", str(source), "--output", str(tmp_path))
    with pytest.raises(CommandError, match="No such file or directory; nothing was written"):
        run("namecheck", "--csv", str(source), "--output", str(tmp_path / "no" / "x.csv"))
    # The output over its own input: read whole first, then replaced whole.
    run("namecheck", "--csv", str(source), "--output", str(source))
    assert source.read_text(encoding="utf-8").startswith("resident,account,outcome")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.csv"]


def test_bench_runs_small_and_reports_both_figures():
    out = run("bench", "namecheck", "--pairs", "2000", "--repeat", "1")
    for label in (
        "check_batch:",
        "check_many:",
        "bare fuzz.ratio:",
        "cpdist",
        "bare / check_batch:",
    ):
        assert label in out
    assert "cores" in out
    assert "load average:" in out
    assert len(re.findall(r"^  target (met|not met): ", out, re.MULTILINE)) == 1


@pytest.mark.parametrize(
    ("batch", "bare", "met"),
    [(1_200_000, 3_500_000, True), (900_000, 2_000_000, False), (1_100_000, 3_600_000, False)],
)
def test_bench_verdict_needs_both_the_rate_and_the_ratio(batch, bare, met):
    from madoguchi.namecheck.bench import BenchResult

    result = BenchResult(
        pairs=1,
        repeat=1,
        distinct_names=1,
        distinct_pairs=1,
        batch_pairs_per_s=batch,
        many_pairs_per_s=batch,
        rapidfuzz_pairs_per_s=bare,
        cpdist_pairs_per_s=bare,
        batch_cpu_pairs_per_s=batch,
        rapidfuzz_cpu_pairs_per_s=bare,
        machine="test",
        load_before=(0.0, 0.0, 0.0),
        load_after=(0.0, 0.0, 0.0),
    )
    assert result.target_met is met
    assert result.slowdown == bare / batch


def test_bench_namecheck_and_unknown():
    # `bench all` also drives the database and server benchmarks (make bench); this one needs neither.
    assert "check_batch:" in run("bench", "namecheck", "--pairs", "500", "--repeat", "1")
    with pytest.raises(CommandError, match="invalid choice: 'nosuch'"):
        run("bench", "nosuch")
