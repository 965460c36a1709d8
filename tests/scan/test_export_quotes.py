"""A CSV value in quotes with text after its closing quote is read one way by Arrow (DuckDB's
input) and another by Spark, so it is refused, naming the file, the column and the row."""

import pytest

from madoguchi.scan import schema
from tests.scan.test_exports import _exported


def broken(tmp_path, written):
    """The hand-made export (every value quoted) with L3's holder written as ``written``."""
    _, exported = _exported(tmp_path)
    path = exported / "links.csv"
    text = path.read_text("utf-8")
    assert text.count('"ｽｽﾞｷ ｲﾁﾛｳ"') == 2  # L2's and L3's (rows 3 and 4)
    at = text.rindex('"ｽｽﾞｷ ｲﾁﾛｳ"')
    path.write_text(text[:at] + written + text[at + len('"ｽｽﾞｷ ｲﾁﾛｳ"') :], "utf-8")
    return exported, path


@pytest.mark.parametrize(
    "written",
    [
        '"ｽｽﾞｷ ｲﾁﾛｳ" ',  # a space after the closing quote: Arrow kept it, Spark dropped it
        '"ｽｽﾞ"ｷ ｲﾁﾛｳ',  # text after it: Arrow 'ｽｽﾞｷ ｲﾁﾛｳ', Spark '"ｽｽﾞ"ｷ ｲﾁﾛｳ'
    ],
)
def test_text_after_a_closing_quote_is_refused_naming_the_row_and_column(tmp_path, written):
    exported, path = broken(tmp_path, written)
    for read in (schema.validate, schema.load):
        with pytest.raises(schema.InputError) as refused:
            read(exported)
        assert refused.value.file == str(path)
        assert refused.value.column == "holder_kana"
        assert refused.value.problem.startswith(
            f"row 4 has a quoted value with text after its closing quote ({written!r}): "
        )


@pytest.mark.parametrize("written", ['"ｽｽﾞｷ ""ｲﾁﾛｳ"""', 'ｽｽﾞｷ "ｲﾁﾛｳ"', '"ｽｽﾞｷ\r\nｲﾁﾛｳ"'])
def test_quotes_written_as_the_format_has_them_are_read(tmp_path, written):
    """A quote written twice inside quotes, a quote inside an unquoted value, a line break in
    quotes: one reading, kept."""
    exported, _ = broken(tmp_path, written)
    links = schema.load(exported)["links"].to_pylist()
    holder = next(r["holder_kana"] for r in links if r["link_id"] == "L3")
    assert holder in ('ｽｽﾞｷ "ｲﾁﾛｳ"', "ｽｽﾞｷ\r\nｲﾁﾛｳ")
