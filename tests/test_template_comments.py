"""A `{# … #}` comment is one line in Django's templates: one written over two lines is text,
printed on the page. The desk's receipt page showed its own comment to the resident
("{# What the card did, … #}") above its heading."""

from pathlib import Path

from django.template.base import Lexer, TokenType

SRC = Path(__file__).resolve().parent.parent / "src" / "madoguchi"


def printed_comments(source: str) -> list[int]:
    """The lines on which `source` prints a comment's opening as text."""
    return [
        token.lineno
        for token in Lexer(source).tokenize()
        if token.token_type == TokenType.TEXT and "{#" in token.contents
    ]


def test_a_comment_over_two_lines_is_found():
    assert printed_comments("<p>a</p>\n{# one\ntwo #}\n") == [1]
    assert printed_comments("{# one line #}{% comment %}two\nlines{% endcomment %}") == []


def test_no_template_prints_a_comment():
    templates = sorted(SRC.rglob("templates/**/*.html"))
    assert len(templates) > 50
    printed = {
        str(path.relative_to(SRC)): lines
        for path in templates
        if (lines := printed_comments(path.read_text(encoding="utf-8")))
    }
    assert printed == {}
