"""`{% load markup %}`: a value kept on one line, escaped as any value is, also where a
translated sentence takes it as a variable."""

from django.template import engines
from django.utils import translation


def render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)


def test_unbroken_keeps_a_value_on_one_line_and_escapes_it():
    out = render("{% load markup %}{{ v|unbroken }}", v="CASE-<b>1</b>")
    assert out == '<span class="nowrap">CASE-&lt;b&gt;1&lt;/b&gt;</span>'


def test_a_translated_sentence_keeps_the_unbroken_value_as_it_is():
    source = (
        "{% load i18n markup %}{% blocktranslate with reference=v|unbroken %}"
        "Reported on {{ when }}, reference number {{ reference }}:{% endblocktranslate %}"
    )
    with translation.override("en"):
        out = render(source, v="CASE-00001&")
    assert '<span class="nowrap">CASE-00001&amp;</span>' in out


def test_a_signed_lines_masked_numbers_stay_whole_and_the_line_is_escaped():
    """The confirmation page broke 「＊」 / 「＊＊＊0001」 at a line's end."""
    from madoguchi.agent import pinpad
    from madoguchi.markup import masked_unbroken

    line = "決済サービス: <b>ペイ</b> ＊＊＊＊0001・番号 ＊＊＊＊"
    want = (
        '決済サービス: &lt;b&gt;ペイ&lt;/b&gt; <span class="{c}">＊＊＊＊0001</span>'
        '・番号 <span class="{c}">＊＊＊＊</span>'
    )
    assert str(masked_unbroken(line)) == want.format(c="nowrap")
    assert pinpad.masked_unbroken(line) == want.format(c="nowrap")  # the agent's PIN pad


def test_a_sentence_already_escaped_is_not_escaped_again():
    """A case page's sentence rendered by `blocktranslate ... asvar` is safe already: its masked
    number is kept whole and its escaped characters stay as they are."""
    from django.template import Context, Template

    out = Template(
        "{% load i18n markup %}{% blocktranslate with bank=bank asvar said %}"
        "口座 {{ bank }} ＊＊＊＊0001{% endblocktranslate %}{{ said|masked_unbroken }}"
    ).render(Context({"bank": "<b>&</b>"}))
    assert out == '口座 &lt;b&gt;&amp;&lt;/b&gt; <span class="nowrap">＊＊＊＊0001</span>'
