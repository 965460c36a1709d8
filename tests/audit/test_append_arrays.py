"""The audit append's arrays travel as PostgreSQL array text (`append_function.array_literal`,
issue 15, eighth round): each reaches the function as the value psycopg's own list adaptation
gave, whatever the characters."""

import json

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.audit.append_function import array_literal

pytestmark = pytest.mark.django_db
_POSTGRES = pytest.mark.skipif(
    not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="the append function and its arrays are PostgreSQL's",
)

# Text PostgreSQL can hold (no NUL), with the characters array input reads specially.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        st.sampled_from("\\\"{},' NULLnull\t\n"),
    ),
    max_size=40,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _through_postgres(kind: str, value: object) -> list[object]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{kind}", [value])
        return list(cursor.fetchone()[0])


@_POSTGRES
@pytest.mark.postgres_only
@settings(max_examples=60)
@given(st.lists(st.none() | _TEXT, max_size=5))
def test_text_arrays_arrive_as_psycopg_sends_them(values):
    assert _through_postgres("text[]", array_literal(values)) == values
    assert _through_postgres("text[]", array_literal(values)) == _through_postgres("text[]", values)


@_POSTGRES
@pytest.mark.postgres_only
@settings(max_examples=40)
@given(st.lists(st.binary(max_size=40), max_size=5))
def test_bytea_arrays_arrive_byte_for_byte(values):
    got = [bytes(v) for v in _through_postgres("bytea[]", array_literal(values))]
    assert got == values


@_POSTGRES
@pytest.mark.postgres_only
@settings(max_examples=40)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=5))
def test_integer_arrays(values):
    assert _through_postgres("integer[]", array_literal(values)) == values


@_POSTGRES
@pytest.mark.postgres_only
@settings(max_examples=60)
@given(st.lists(st.dictionaries(_TEXT, _JSON, max_size=4), max_size=4))
def test_jsonb_arrays_carry_the_json_text(values):
    literal = array_literal([json.dumps(v) for v in values])
    # Django's psycopg setup loads jsonb as its text; the field parses it.
    assert [json.loads(v) for v in _through_postgres("jsonb[]", literal)] == values


@_POSTGRES
@pytest.mark.postgres_only
def test_an_empty_array_and_a_value_without_an_element_form():
    assert _through_postgres("text[]", array_literal([])) == []
    with pytest.raises(TypeError, match="float"):
        array_literal([1.5])
    with pytest.raises(TypeError, match="bool"):
        array_literal([True])


class _Terminal:
    pk = 7

    def __str__(self):
        return 'desk "7" \\ {a,b} NULL 窓口'


def test_events_with_every_special_character_are_appended_and_verify():
    from django.db import transaction

    from madoguchi.audit import services as audit
    from madoguchi.audit.models import AuditEvent
    from madoguchi.audit.verify import verify_chain

    payload = {"q": 'say "hi"', "b": "C:\\path\\", "braces": "{x,y}", "null": None, "ja": "山田"}
    with transaction.atomic():
        first = audit.record("accounts.signed_in", terminal=_Terminal(), payload=payload)
        second = audit.record("accounts.signed_in", subject=("case", 'id "2"\\'), payload={})
    stored = {e.seq: e for e in AuditEvent.objects.filter(seq__in=[first.seq, second.seq])}
    assert stored[first.seq].payload == payload
    assert stored[first.seq].terminal_label == str(_Terminal())
    assert stored[second.seq].subject_id == 'id "2"\\'
    assert verify_chain().ok
