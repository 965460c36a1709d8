"""Side doors round 3 (docs/security.md): the API and the pages' JSON endpoints read only an
`application/json` body, and a refusal never echoes the client's arbitrary bytes."""

import json
import re

import pytest

from madoguchi.desk.models import Procedure
from tests.desk.test_text_rules import _start, staff_client  # noqa: F401 -- fixture

BODY = json.dumps({"kind": "test_link", "fields": {"account": "PAY-1", "points": 5}})


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "", "text/xml"],
)
def test_a_procedure_posted_as_anything_but_json_is_refused_415(
    trusted,
    staff_client,  # noqa: F811
    content_type,
):
    """A cross-site page can post `text/plain` or a form without a preflight (the classic
    CSRF shape); the API parsed its body as JSON whatever the type."""
    visit = _start(staff_client, trusted.card("A"))
    r = staff_client.post("/api/v1/visits/current/procedures", BODY, content_type=content_type)
    assert r.status_code == 415, r.content
    data = r.json()
    assert data["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in data["message"]
    assert "JSON の本文" in data["message_ja"]
    assert not Procedure.objects.filter(visit=visit).exists()
    ok = staff_client.post(
        "/api/v1/visits/current/procedures", BODY, content_type="application/json; charset=utf-8"
    )
    assert ok.status_code == 200, ok.content


def test_a_form_with_fields_is_refused_and_a_bodyless_write_is_not(
    trusted,
    staff_client,  # noqa: F811
):
    _start(staff_client, trusted.card("A"))
    form = staff_client.post("/api/v1/visits/current/procedures", {"kind": "test_link"})
    assert form.status_code == 415
    # The desk's script posts `{}`; a test client's bare post sends an empty form: no body.
    assert staff_client.post("/api/v1/visits/current/completion-challenge").status_code != 415


@pytest.mark.parametrize("path", ["/api/v1/agent/events", "/api/v1/visits/start"])
def test_anonymous_text_plain_is_refused_before_anything_else(client, path):
    r = client.post(path, '{"kind": "inserted"}', content_type="text/plain")
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"


def test_the_pages_json_endpoints_refuse_text_plain_in_japanese(client):
    r = client.post("/me/sign-in", '{"token": "x", "nonce": "y"}', content_type="text/plain")
    assert r.status_code == 415
    assert "JSON の本文" in r.content.decode()
    # `/me/end` also takes a plain form (the page's button without script).
    assert client.post("/me/end", {"reason": "signed_out"}).status_code != 415


@pytest.mark.parametrize(
    "kind",
    ["<script>alert(1)</script>", "x" * 100_000, "a\u202eb", "Health Insurance"],
    ids=["markup", "huge", "bidi", "spaces"],
)
def test_an_unknown_procedure_is_refused_without_echoing_the_kind(
    trusted,
    staff_client,  # noqa: F811
    kind,
):
    _start(staff_client, trusted.card("A"))
    body = json.dumps({"kind": kind, "fields": {}})
    r = staff_client.post(
        "/api/v1/visits/current/procedures", body, content_type="application/json"
    )
    assert r.status_code == 400
    data = r.json()
    assert data["code"] == "unknown_procedure"
    assert kind not in r.content.decode()
    assert kind not in json.dumps(data)
    assert "not the name of any procedure" in data["message"]
    assert len(r.content) < 1000


def test_an_unknown_procedure_with_a_procedures_shape_is_named(
    trusted,
    staff_client,  # noqa: F811
):
    _start(staff_client, trusted.card("A"))
    body = json.dumps({"kind": "no_such_thing", "fields": {}})
    r = staff_client.post(
        "/api/v1/visits/current/procedures", body, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["message"] == "This procedure is not available (no_such_thing)."


def test_refused_field_names_are_sent_back_bounded_and_without_the_bad_characters(
    trusted,
    staff_client,  # noqa: F811
):
    """A refused field's name is the client's own bytes: it was sent back whole (100 kB, with
    its bidirectional override), and every one of 5,000 refused fields was named."""
    _start(staff_client, trusted.card("A"))
    long_name = "<b>" + "\u202e" + "x" * 100_000
    fields = {long_name: "1", **{f"f{n}\x07": "1" for n in range(5000)}}
    body = json.dumps({"kind": "test_link", "fields": fields})
    r = staff_client.post(
        "/api/v1/visits/current/procedures", body, content_type="application/json"
    )
    assert r.status_code == 400
    data = r.json()
    assert data["code"] == "text_not_allowed"
    assert len(r.content) < 5000
    assert "\u202e" not in json.dumps(data, ensure_ascii=False)
    assert "\x07" not in json.dumps(data, ensure_ascii=False)
    assert len(data["fields"]) == 21
    assert data["fields"]["…"] == "and 4981 more fields"
    assert "<b>?xxx" in " ".join(data["fields"])


def test_a_body_that_does_not_fit_the_schema_is_refused_in_one_sentence_per_language(
    trusted,
    staff_client,  # noqa: F811
):
    """The refusal read "The request is not valid: body.body.kind: Field required" (no full
    stop, ninja's `body.body.` and pydantic's "Value error, "): the fuzzing's check that every
    refusal is a sentence found it. It names the field as the client wrote it."""
    _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/api/v1/visits/current/procedures",
        json.dumps({"fields": {}}),
        content_type="application/json",
    )
    assert r.status_code == 422
    data = r.json()
    assert data["message"] == "The request is not valid: kind: Field required."
    # Japanese through and through: pydantic's English was inside the Japanese sentence.
    assert (
        data["message_ja"]
        == "リクエストの形式が正しくありません（項目 kind：ありません（必須です））。"
    )


def test_a_representatives_name_with_a_control_character_is_refused_in_japanese(
    trusted,
    staff_client,  # noqa: F811
):
    """A kana pasted with an invisible right-to-left mark: the desk page shows message_ja,
    which carried "kana: contains the bidirectional control U+200F at position 3"."""
    _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/api/v1/visits/current/representative",
        json.dumps(
            {
                "token": "t",
                "nonce": "n",
                "relationship": "parent",
                "kana": "サトウ\u200fハナコ",
                "kana_confirmed": True,
            }
        ),
        content_type="application/json",
    )
    assert r.status_code == 422
    data = r.json()
    assert "kana: contains the bidirectional control U+200F" in data["message"]
    assert data["message_ja"].startswith(
        "リクエストの形式が正しくありません（フリガナ：使えない文字"
    )
    assert not re.search("[A-Za-z]", data["message_ja"])


def test_an_empty_body_is_said_to_be_missing(
    trusted,
    staff_client,  # noqa: F811
):
    _start(staff_client, trusted.card("A"))
    r = staff_client.post("/api/v1/visits/current/procedures", b"", content_type="application/json")
    assert r.status_code == 422
    assert "the body is missing" in r.json()["message"]
    assert "本文（JSON）がありません" in r.json()["message_ja"]
