"""The admin an operator uses reads in Japanese, django-axes' part of it too: the library ships no
Japanese catalogue, and the admin's index read AXES, Access attempts, Access failures and Access
logs, its lists IP Address, User Agent, Attempt Time … (a walk of the README's step 5)."""

import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from madoguchi.accounts.constants import Role
from tests import factories

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    """The page's words: no tags, scripts or styles, runs of white space as one."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def admin_client(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = factories.staff(Role.OPERATOR)
    user.is_staff = True
    user.is_superuser = True  # sees every app's part of the admin
    user.save()
    factories.sign_in_with_code(client, user, factories.totp_device(user))
    return client


ENGLISH = (
    "Axes",
    "AXES",
    "Access attempt",
    "Access failure",
    "Access log",
    "IP Address",
    "User Agent",
    "Attempt Time",
    "Path",
    "Failed Logins",
    "Username",
    "Logout Time",
)


def test_the_sign_in_lockouts_part_of_the_admin_reads_in_japanese(admin_client):
    common = {"ip_address": "192.0.2.9", "user_agent": "test-browser", "username": "desk9"}
    AccessAttempt.objects.create(**common, path_info="/accounts/sign-in/", failures_since_start=2)
    AccessFailureLog.objects.create(**common, path_info="/accounts/sign-in/")
    AccessLog.objects.create(**common, path_info="/accounts/sign-in/")
    index = _text(admin_client.get("/admin/").content.decode())
    assert "サインインのロックアウト" in index
    assert "サインインの試行" in index
    assert "サインイン失敗の記録" in index
    assert "サインインの記録" in index
    pages = {"index": index}
    for model in ("accessattempt", "accessfailurelog", "accesslog"):
        listing = admin_client.get(f"/admin/axes/{model}/")
        assert listing.status_code == 200
        pages[model] = _text(listing.content.decode())
        assert "IPアドレス" in pages[model]
        assert "ユーザー名" in pages[model]
    for name, page in pages.items():
        # The rows' own values (desk9, test-browser, the path) are data, not the page's words.
        shown = [w for w in ENGLISH if re.search(rf"(?<![\w/-]){w}(?![\w/-])", page)]
        assert not shown, (name, shown)


def test_the_admin_is_headed_with_the_products_name_not_djangos(admin_client):
    """Every admin page was headed 「Django 管理サイト」 and titled "| Django サイト管理": the
    operator's admin carries madoguchi's name, in either language."""
    for lang, header, index in (
        ("ja", "madoguchi 管理画面", "記録と設定"),
        ("en", "madoguchi administration", "Records and settings"),
    ):
        page = admin_client.get(f"/admin/?lang={lang}").content.decode()
        title = re.search(r"<title>([^<]*)</title>", page).group(1)
        assert "Django" not in title, title
        assert title == f"{index} | {header}", title
        assert f'<a href="/admin/">{header}</a>' in page
        assert "Django" not in _text(page)


def test_the_staff_list_and_a_members_page_name_roles_in_words(admin_client):
    """The staff list's filter offered the groups by their names, the roles' codes
    (desk_staff, city_official), and a member's page listed them so."""
    from madoguchi.accounts.constants import Role
    from tests import factories

    member = factories.staff(Role.DESK_STAFF, username="yamada")
    listing = _text(admin_client.get("/admin/accounts/user/").content.decode())
    page = _text(admin_client.get(f"/admin/accounts/user/{member.pk}/change/").content.decode())
    for text in (listing, page):
        assert "desk_staff" not in text
        assert "city_official" not in text
        assert "支援窓口スタッフ" in text
    filtered = admin_client.get("/admin/accounts/user/", {"role": "desk_staff"}).content.decode()
    assert member.username in filtered
