"""The command logic without PC/SC, and the thin Django commands."""

from __future__ import annotations

import ast
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from madoguchi.card import cli
from madoguchi.card.virtual import VirtualCard

CARD_DIR = Path(cli.__file__).parent


def test_card_package_never_imports_django() -> None:
    for path in CARD_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "django" for n in names), path


def test_pin_prompt_when_flag_has_no_value() -> None:
    asked: list[str] = []

    def ask(label: str) -> str:
        asked.append(label)
        return "4321"

    assert cli.resolve_pin(cli.PROMPT, "auth PIN", ask) == "4321"
    assert cli.resolve_pin(None, "auth PIN", ask) == "4321"
    assert cli.resolve_pin("1111", "auth PIN", ask) == "1111"
    assert asked == ["auth PIN: ", "auth PIN: "]


def test_no_pin_and_nothing_to_ask_it_of_is_refused_in_a_sentence(monkeypatch) -> None:
    """`madoguchi card auth < /dev/null` (a script, no terminal): getpass's EOFError was a
    traceback. The command says what is missing and how to give it, and exits 1."""

    def nothing(label: str) -> str:
        raise EOFError

    with pytest.raises(ValueError, match="no auth PIN was given: run the command in a terminal"):
        cli.resolve_pin(None, "auth PIN", nothing)
    monkeypatch.setattr(cli.getpass, "getpass", nothing)
    err = io.StringIO()
    assert cli.run_card({"action": "auth", "pin": None}, io.StringIO(), err) == 1
    assert err.getvalue().startswith("error: no auth PIN was given")
    assert "nothing was sent to the card" in err.getvalue()


def test_vcard_issue_command(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "vcard",
        "issue",
        "--name",
        "鈴木　一郎",
        "--birth",
        "1975-12-31",
        "--sex",
        "1",
        "--address",
        "大阪府大阪市北区１－１",
        "--pin",
        "2468",
        "--ca-dir",
        str(tmp_path / "ca"),
        "--out",
        str(tmp_path / "x.card"),
        stdout=out,
    )
    assert "issued" in out.getvalue()
    # The PIN never appears as such (hex and base64 elsewhere may hold those digits by chance).
    standalone = re.compile(r"(?<![0-9A-Za-z+/])2468(?![0-9A-Za-z+/=])")
    assert not standalone.search(out.getvalue())
    text = (tmp_path / "x.card").read_text()
    assert not standalone.search(text)  # only a salted hash of the PIN
    card = VirtualCard.load(tmp_path / "x.card")
    assert card.tries_left("auth_pin") == 3
    assert json.loads(text)["format"] == "madoguchi-vcard/1"
    assert (tmp_path / "ca" / "state.json").exists()


def test_vcard_issue_makes_the_folder_of_the_card_file(tmp_path: Path) -> None:
    """docs/agent.md issues into var/cards/, which nothing had made: the command failed with
    "No such file or directory: 'var/cards/hanako.card.tmp'"."""
    out, err = io.StringIO(), io.StringIO()
    card_file = tmp_path / "var" / "cards" / "hanako.card"
    options = {
        "action": "issue",
        "name": "山田\u3000花子",
        "birth": __import__("datetime").date(1985, 4, 1),
        "sex": "2",
        "address": "東京都千代田区霞が関１－２－３",
        "pin": "1234",
        "support_pin": None,
        "ca_dir": tmp_path / "ca",
        "out": card_file,
    }
    assert cli.run_vcard(options, out, err) == 0, err.getvalue()
    assert VirtualCard.load(card_file).tries_left("auth_pin") == 3


def test_card_command_without_pcscd_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from smartcard import scard

    # What PC/SC answers when no pcscd runs (whether or not another test's pcscd is up now).
    monkeypatch.setattr(
        scard, "SCardEstablishContext", lambda scope: (scard.SCARD_E_NO_SERVICE, None)
    )
    err = io.StringIO()
    assert cli.run_card({"action": "readers"}, io.StringIO(), err) == 1
    assert "pcscd" in err.getvalue()


def test_bad_pin_format_is_refused_at_issue(tmp_path: Path) -> None:
    err = io.StringIO()
    code = cli.run_vcard(
        {
            "action": "issue",
            "name": "A\u3000B",
            "birth": __import__("datetime").date(1990, 1, 1),
            "sex": "2",
            "address": "x",
            "pin": "12",
            "support_pin": None,
            "ca_dir": tmp_path / "ca",
            "out": tmp_path / "y.card",
        },
        io.StringIO(),
        err,
    )
    assert code == 1
    assert "4 digits" in err.getvalue()


def test_one_remaining_try_is_said_in_the_singular() -> None:
    """`card auth` printed "wrong PIN, 1 tries left"; `card show` "auth PIN: 1 tries left"."""
    from madoguchi.card.errors import WrongPin, tries_left_text

    assert "wrong PIN, 1 try left" in str(WrongPin(0x63C1))
    assert "wrong PIN, 2 tries left" in str(WrongPin(0x63C2))
    assert tries_left_text(1) == "1 try left"


def test_the_pin_pads_english_says_one_try_in_the_singular() -> None:
    """The resident read "Wrong PIN. 1 tries left." and "1 tries left" on the English PIN pad."""
    from madoguchi.agent.pinpad import render
    from madoguchi.agent.requests import CardRequest, Kind

    def page(lang: str, tries: int) -> str:
        request = CardRequest(
            id="r1", kind=Kind.AUTHENTICATE, created=0.0, expires=1e12, tries_left=tries,
            notice="wrong_pin",
        )  # fmt: skip
        return render(request, lang, "nonce")

    assert "Wrong PIN. 1 try left." in page("en", 1)
    assert ">1 try left<" in page("en", 1)
    assert "Wrong PIN. 2 tries left." in page("en", 2)
    assert "暗証番号が違います。残り1回です。" in page("ja", 1)
    assert "残り1回" in page("ja", 1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x7fELF\xd0\x00binary", "it is not text (a card file is JSON text)"),
        (b"desk-01\n", "it is not JSON text (a card file is)"),
        (b"[1, 2]", "it does not say it is a card (madoguchi-vcard/1)"),
        (
            b'{"format": "madoguchi-vcard/1"}',
            "its part 'pins' is missing (a file cut short or edited?)",
        ),
    ],
    ids=["binary", "text", "json", "cut-short"],
)
def test_vcard_plug_of_a_file_that_is_no_card_says_why_in_words(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    """It named the exception: `UnicodeDecodeError: 'utf-8' codec can't decode byte 0xd0 …`,
    `AttributeError: 'list' object has no attribute 'get'`."""
    bad = tmp_path / "bin.dat"
    bad.write_bytes(content)
    err = io.StringIO()
    assert cli.run_vcard({"action": "plug", "card": bad, "port": 1}, err=err) == 1
    assert err.getvalue() == (
        f"error: {bad}: not a virtual card file (madoguchi vcard issue writes them): {reason}.\n"
    )


@pytest.mark.parametrize("name", ["nonexistent.card", "."], ids=["missing", "directory"])
def test_vcard_plug_of_a_file_it_cannot_read_names_it_without_an_errno(
    tmp_path: Path, name: str
) -> None:
    """It was `error: [Errno 2] No such file or directory: '/nonexistent'`."""
    path = tmp_path / name
    err = io.StringIO()
    assert cli.run_vcard({"action": "plug", "card": path, "port": 1}, err=err) == 1
    words = "No such file or directory" if name != "." else "Is a directory"
    assert err.getvalue() == f"error: {path}: {words}\n"


def test_a_device_is_not_read_forever_as_a_card(tmp_path: Path) -> None:
    err = io.StringIO()
    assert cli.run_vcard({"action": "plug", "card": Path("/dev/zero"), "port": 1}, err=err) == 1
    assert "it is larger than 1,000,000 bytes, which no card file is." in err.getvalue()
