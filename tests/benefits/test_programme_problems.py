"""A programme version's problems are said in the reader's language: Japanese in the admin
by default and in a refusal's Japanese message, English in its English one."""

import pytest
from django.utils import timezone

from madoguchi.benefits.models import Programme
from madoguchi.benefits.services import programme_version_create
from madoguchi.refusals import Refusal

pytestmark = pytest.mark.database

BAD = [{"code": "c1", "label_ja": "申込", "kind": "fixed", "points": 0, "trigger": "nope"}]


@pytest.mark.django_db
def test_a_refused_version_says_its_problems_in_each_language():
    programme = Programme.objects.create(code="problems", scope="municipal")
    now = timezone.now()
    with pytest.raises(Refusal) as exc:
        programme_version_create(
            programme, name_ja="テスト事業", opens_at=now, closes_at=now, categories=BAD
        )
    ja, en = exc.value.message_ja, exc.value.message_en
    assert "区分 c1：trigger 'nope' は不明です" in ja
    assert "区分 c1：points は正の整数にしてください" in ja
    assert "受付終了は受付開始より後にしてください" in ja
    assert "must" not in ja
    assert "unknown" not in ja
    assert "category c1: unknown trigger 'nope'" in en
    assert "applications must close after they open" in en
    assert "区分" not in en


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [
        ("ja", "区分 c1：kind は fixed か rate にしてください", "kind must be fixed or rate"),
        ("en", "category c1: kind must be fixed or rate", "区分"),
    ],
)
def test_the_admin_form_says_the_problems_in_its_language(language, shown, hidden):
    from django.utils import translation

    from madoguchi.benefits.admin import ProgrammeVersionForm

    programme = Programme.objects.create(code=f"problems-{language}", scope="municipal")
    with translation.override(language):
        form = ProgrammeVersionForm(
            data={
                "programme": programme.pk,
                "name_ja": "テスト事業",
                "opens_at": "2026-01-01 00:00",
                "closes_at": "2026-12-31 00:00",
                "categories": '[{"code": "c1", "label_ja": "申込", "kind": "other"}]',
            }
        )
        assert not form.is_valid()
        errors = " ".join(str(e) for e in form.errors["categories"])
    assert shown in errors
    assert hidden not in errors
