"""The birth date that makes a resident a minor comes from the card's basic four (read at the
desk), never from what staff type: a posted `resident_birth_date` is replaced by the card's."""

import pytest
from django.urls import reverse

from madoguchi.desk.models import Procedure
from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("providers", "systems")

# Resident C (山田 太郎, born 1990) keys in an account that is not in their name, with the
# representative exception ticked: the exception is for minors only.
FORM = {
    "programme": "mynapoint-2",
    "provider": "sim-pay",
    "payment_service_id": "7010000000000003",  # ｽｽﾞｷ ｲﾁﾛｳ
    "security_code": "890",
    "resident_kana": "ヤマダ タロウ",
    "resident_kana_confirmed": "on",
    "use_representative_exception": "on",
}
NOT_MINOR = "法定代理人の口座を使う例外は、未成年の方だけが対象です。"
URL = reverse("desk:procedure", args=["point_application"])


def test_typed_birth_date_is_ignored(trusted, staff_client):  # noqa: F811
    start(staff_client, trusted.card("C"))
    page = staff_client.get(URL).content.decode()
    assert 'type="hidden" name="resident_birth_date"' in page
    # Staff claim the resident is a child: ignored; nothing was read from the card.
    r = staff_client.post(URL, {**FORM, "resident_birth_date": "2015-04-01"})
    assert r.status_code == 400
    assert NOT_MINOR in r.content.decode()
    assert not Procedure.objects.exists()


def test_birth_date_read_from_the_card_is_used(trusted, staff_client):  # noqa: F811
    start(staff_client, trusted.card("C"))
    # What the desk page posts after the agent read the basic four (here: a minor's card).
    r = staff_client.post(
        reverse("desk:resident"),
        '{"name": "佐藤\u3000翔太", "birth_date": "2014-02-03"}',
        content_type="application/json",
    )
    assert r.status_code == 204
    r = staff_client.post(URL, {**FORM, "resident_birth_date": "1990-01-15"})
    body = r.content.decode()
    assert r.status_code == 400
    # Past the minor check: what is missing now is the representative's own card.
    assert NOT_MINOR not in body
    assert "法定代理人ご本人のマイナンバーカードでの認証が必要です。" in body
    bad = staff_client.post(
        reverse("desk:resident"), '{"name": "x", "birth_date": "not a date"}',
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400
