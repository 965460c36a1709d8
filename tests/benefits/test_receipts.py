"""The receipt PDF: rendered by WeasyPrint, with the expected Japanese text."""

import pytest
from django.urls import reverse

from madoguchi.benefits import receipts
from madoguchi.benefits.models import PaymentLink
from tests import factories
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.visits import verify_basic_four

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _text(document):
    from weasyprint.formatting_structure.boxes import TextBox

    parts = []
    for page in document.pages:
        parts.extend(b.text for b in page._page_box.descendants() if isinstance(b, TextBox))
    return "".join(parts)


@pytest.mark.usefixtures("support_keys")
def test_receipt_renders_what_was_linked(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)  # the name on the receipt is the verified card's
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    document = receipts.receipt_document(completion)
    assert len(document.pages) >= 1
    text = _text(document)
    link = PaymentLink.objects.get()
    for expected in (
        "お手続きの控え",
        "山田　太郎",
        "シミュレーションペイ",
        link.masked_account,
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        visit.reference,
        visit.terminal.location,
        visit.staff.username,
        "日本時間",
    ):
        assert expected in text, expected
    pdf = receipts.receipt_pdf(completion)
    assert pdf.startswith(b"%PDF-")
    html = receipts.receipt_html(completion)
    assert f'<span class="nowrap">{link.masked_account}</span>' in html  # kept on one line


def test_receipt_dates_the_completion_as_the_letters_do(trusted, desk):
    """The receipt said 2026年12月01日 while the resident's letters and page say 令和8年12月1日."""
    from django.utils import timezone

    from madoguchi.era import format_era

    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    committed = timezone.localtime(completion.committed_at)
    data = receipts.receipt_data(completion)
    assert data.committed_at == (
        f"{format_era(committed.date(), weekday=False)} {committed:%H:%M:%S}（日本時間）"
    )
    assert data.committed_at.startswith("令和")
    # The desk as the resident's page and the receipt page name it: the place alone.
    assert data.desk == completion.visit.terminal.location


def test_receipt_names_the_staff_member_as_the_desk_pages_do(trusted, desk):
    """The resident reads the staff member's name on the receipt, not their sign-in name."""
    desk.staff.display_name = "窓口 一郎"
    desk.staff.save(update_fields=["display_name"])
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    data = receipts.receipt_data(commit(desk, c))
    assert data.staff == "窓口 一郎"
    assert desk.staff.username not in data.staff


def _login(client, desk):
    from madoguchi.terminals import services as terminal_services

    raw = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    client.force_login(desk.staff)
    session = client.session
    session["desk_session_id"] = desk.pk
    session.save()


@pytest.mark.urls("tests.benefits.urls")
def test_receipt_view_only_for_the_desk_sessions_staff(trusted, desk, client):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    url = reverse("benefits:receipt", args=[completion.pk])
    assert url == f"/benefits/receipts/{completion.pk}.pdf"
    _login(client, desk)
    response = client.get(url, secure=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    other = factories.staff()
    client.force_login(other)
    assert client.get(url, secure=True).status_code == 404


@pytest.mark.urls("tests.benefits.urls")
def test_receipt_view_keeps_an_earlier_residents_receipt_from_the_next(trusted, desk, client):
    """A desk session reopened the receipt PDF of any earlier visit of its own, so the next
    resident at the desk could be shown the previous one's: now only the current visit's, or
    the just-ended one's until the next visit starts (a reprint right after completion)."""
    from madoguchi.desk import services as desk_services
    from madoguchi.desk.constants import VisitEndReason

    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    url = reverse("benefits:receipt", args=[commit(desk, c).pk])
    _login(client, desk)
    assert client.get(url, secure=True).status_code == 200
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)
    assert client.get(url, secure=True).status_code == 200  # the reprint, before the next visit
    start_visit(desk, trusted.card("A"))
    response = client.get(url, secure=True, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 403
    page = response.content.decode()
    assert "%PDF" not in page
    assert "前の来庁のもの" in page
    assert "ご自身のページ" in page


def test_receipt_names_the_resident_by_the_confirmed_kana_when_the_card_was_not_read(trusted, desk):
    """The README's walk-through never reads the name from the card: the receipt's お名前 said
    "—", so the resident could not see whom it was for. The kana the resident confirmed at the
    desk names them instead (the name read from the card still comes first)."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="ヤマダ タロウ"))
    data = receipts.receipt_data(commit(desk, c))
    assert data.resident_name == "ヤマダ タロウ（フリガナ）"
    assert "—" not in data.resident_name


def test_receipt_says_what_to_do_if_the_resident_did_not_do_this(trusted, desk, settings):
    """A receipt (handed over, or emailed to an address typed at the desk) must tell the reader
    what to do when they did not do this: the call centre and the resident's own page."""
    settings.RESIDENT_CALL_CENTRE = "0120-00-0000"
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    text = _text(receipts.receipt_document(commit(desk, c)))
    assert "心当たりがない" in text
    assert "0120-00-0000" in text
    assert "これは自分ではない" in text


def test_receipt_pdf_names_the_desk_by_its_place_as_the_page_and_notice_do(
    trusted, desk, client, mailoutbox
):
    """The PDF printed 本庁 1階（desk-01）, the terminal's internal id in brackets, while the
    receipt page and the resident's page name the desk by its place: the PDF, the receipt page
    and the notice email write no terminal id."""
    from madoguchi.residents import services as resident_services
    from tests.cases.pdftext import check_pdf

    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    terminal = completion.visit.terminal
    text = _text(receipts.receipt_document(completion))
    assert terminal.location in text
    assert terminal.name not in text
    attached_text = check_pdf(receipts.receipt_pdf(completion))
    assert terminal.location.replace(" ", "") in attached_text.replace(" ", "")
    assert terminal.name not in attached_text
    resident_services.completion_email(completion, "resident@example.jp")
    assert terminal.name not in mailoutbox[-1].body
    _login(client, desk)
    page = client.get(reverse("desk:receipt")).content.decode()
    # (the staff header names the terminal the browser is; the receipt itself does not)
    shown = page.split('data-testid="receipt"', 1)[1].split("</section>", 1)[0]
    assert completion.visit.reference in shown
    assert terminal.name not in shown
    # A terminal without a location is still named on the receipt, by its name.
    terminal.location = ""
    terminal.save(update_fields=["location"])
    assert receipts.receipt_data(completion).desk == terminal.name


def test_the_receipt_names_the_zone_its_time_is_in(trusted, desk, settings):
    """The receipt said （日本時間） as fixed text whatever TIME_ZONE was."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    settings.TIME_ZONE = "UTC"
    data = receipts.receipt_data(completion)
    assert data.committed_at.endswith("（UTC、UTC+00:00）")
    assert "日本時間" not in data.committed_at


JAPANESE_LABELS = ("お手続きの控え", "確定日時", "受付番号", "お手続き", "名義", "付与", "窓口まで")


@pytest.mark.usefixtures("support_keys")
def test_an_english_receipt_says_in_english_what_was_linked(trusted, desk):
    """The receipt was Japanese only: a resident served in English, or reading their own page in
    it, downloaded a receipt they could not read. In English it says the same things; the
    names, the place and the banks keep their own script."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    text = _text(receipts.receipt_document(completion, "en"))
    flat = text.replace(" ", "")  # a line's end takes the space it broke at
    link = PaymentLink.objects.get()
    for expected in (
        "Receipt of your application",
        "山田　太郎",
        "application (payment service link)",
        link.masked_account,
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        visit.reference,
        visit.terminal.place,
        "Japan time",
        "Points granted by this application",
        "points",
        "This was confirmed by the signature of the resident's My Number card.",
        "This was not me",
    ):
        assert expected.replace(" ", "") in flat, expected
    for label in JAPANESE_LABELS:
        assert label not in text, label
    assert 'lang="en"' in receipts.receipt_html(completion, "en")
    # Japanese stays the default.
    assert "お手続きの控え" in _text(receipts.receipt_document(completion))


def test_the_receipt_is_in_the_language_of_the_page_it_is_opened_from(
    trusted, desk, client, monkeypatch
):
    from madoguchi.benefits import views
    from tests.receiptkit import languages_asked

    asked = languages_asked(monkeypatch, views)
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    url = reverse("benefits:receipt", args=[commit(desk, c).pk])
    _login(client, desk)
    assert client.get(url, secure=True, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert client.get(url, secure=True, HTTP_ACCEPT_LANGUAGE="ja").status_code == 200
    assert asked == ["en", "ja"]
