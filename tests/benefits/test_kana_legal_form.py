"""A legal form (株式会社, (株), ｶ) …) in a person's kana is refused at the desk. The name check
takes a legal form off both names and matches a company's account only with a name that
carries one too, so a resident's kana typed as 「カ)ヤマダ タロウ」 matched the account of
ヤマダタロウ株式会社, where their own name is refused against it (LEGAL_ENTITY): a company's
account could be linked to a resident's points or public fund (side doors, round 11). The
representative's kana: tests/benefits/test_race_and_representative.py."""

import pytest

from madoguchi.benefits.models import PaymentLink
from madoguchi.desk.models import Procedure
from madoguchi.namecheck import Outcome, Reason, check
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit

LEGAL_FORMS = (
    "カ)ヤマダ タロウ",
    "ヤマダタロウ カブシキガイシャ",
    "(株)ヤマダ タロウ",
    "ﾔﾏﾀﾞ ﾀﾛｳ(ﾕ",
)
COMPANY_ACCOUNT = "ｶ)ﾔﾏﾀﾞ ﾀﾛｳ"


def test_the_name_check_matches_a_company_only_with_a_legal_form():
    """Why the desk refuses it: the library, on purpose, compares two companies' names."""
    assert check("ヤマダ タロウ", COMPANY_ACCOUNT).reason == Reason.LEGAL_ENTITY
    for kana in LEGAL_FORMS[:3]:
        assert check(kana, COMPANY_ACCOUNT).outcome == Outcome.MATCH, kana


@pytest.mark.usefixtures("providers", "systems")
def test_a_legal_form_in_the_residents_kana_is_refused_before_any_look_up(trusted, desk):
    visit = start_visit(desk, trusted.card("C"))
    for kana in LEGAL_FORMS:
        err = refused("resident_kana_legal_form", prepare, desk, **apply_fields(kana=kana))
        assert "法人の種類" in err.message_ja
        assert err.message_en.startswith("The kana name contains a company's legal form")
    assert not Procedure.objects.filter(visit=visit).exists()
    assert not PaymentLink.objects.exists()
    # A person's name that only sounds like one (カ, ダイガク, ノウ) is the name check's, as before.
    p = prepare(desk, **apply_fields(kana="ヤマダ タロウ"))
    assert p.fields["name_outcome"] == "match"
