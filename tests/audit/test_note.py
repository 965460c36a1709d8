"""The checkpoint note format: sign, open, and every kind of malformed or forged note."""

import base64

import pytest

from madoguchi.audit import note
from madoguchi.audit.note import Checkpoint, NoteError

ROOT = bytes(range(32))
NAME = "example.org/log"


@pytest.fixture
def key():
    return note.load_private_key_pem(note.generate_private_key_pem())


def test_signed_note_layout_and_round_trip(key):
    text = note.sign(Checkpoint(NAME, 7, ROOT), NAME, key)
    body, signature_line = text.split("\n\n")
    assert body == f"{NAME}\n7\n{base64.b64encode(ROOT).decode()}"
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    assert (dash, name) == ("\u2014", NAME)
    raw = base64.b64decode(blob)
    assert raw[:4] == note.key_hash(NAME, key.public_key())
    key.public_key().verify(raw[4:], (body + "\n").encode())
    assert note.open_note(text, NAME, key.public_key()) == Checkpoint(NAME, 7, ROOT)


def test_verifier_key_round_trip(key):
    text = note.verifier_key(NAME, key.public_key())
    name, public_key = note.parse_verifier_key(text)
    assert name == NAME
    assert public_key.public_bytes_raw() == key.public_key().public_bytes_raw()
    with pytest.raises(NoteError, match="hash does not match"):
        note.parse_verifier_key(text.replace(NAME, "other.org/log", 1))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: t.replace("\n7\n", "\n8\n"), "does not verify"),
        (lambda t: t.replace("\n\n", "\n"), "no blank line"),
        (lambda t: t.replace("\n7\n", "\n07\n"), "not a decimal"),
        (lambda t: t.split("\n\n")[0] + "\n\n", "no signature"),
        (lambda t: t.replace("\u2014", "-"), "Malformed"),
    ],
)
def test_altered_notes_are_refused(key, mutate, reason):
    text = note.sign(Checkpoint(NAME, 7, ROOT), NAME, key)
    with pytest.raises(NoteError, match=reason):
        note.open_note(mutate(text), NAME, key.public_key())


def test_note_signed_by_another_key_is_refused(key):
    other = note.load_private_key_pem(note.generate_private_key_pem())
    text = note.sign(Checkpoint(NAME, 7, ROOT), NAME, other)
    with pytest.raises(NoteError, match="no signature"):
        note.open_note(text, NAME, key.public_key())


def test_bad_names_are_refused(key):
    with pytest.raises(NoteError):
        note.sign(Checkpoint(NAME, 1, ROOT), "has space", key)
    with pytest.raises(NoteError):
        note.sign(Checkpoint("two\nlines", 1, ROOT), NAME, key)
