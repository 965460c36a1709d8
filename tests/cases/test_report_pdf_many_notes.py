"""A case's report PDF with many notes: each note may hold 4,000 characters, and a case with
hundreds of them made a PDF of hundreds of pages, a minute and more of a worker's time
(docs/performance.md, "The case report's PDF"). The PDF prints the intake and the latest
`document.FULL_LATEST` entries in full and the ones between by day, recorder and first line,
saying how many and that the case page holds them all; report.md keeps every entry in full."""

from datetime import date

from madoguchi.cases import document, services
from tests.cases.conftest import open_case, report_url
from tests.cases.pdftext import check_pdf


def _note(case, official, i):
    summary = f"記録{i}の1行目\n" + "事業者に確認した。" * 40 + f"記録{i}の末尾"
    services.case_note(case, actor=official, summary=summary, event_date=date(2026, 11, i))


def _pdf_text(client, case):
    r = client.get(report_url(case, "report_pdf"))
    assert r.status_code == 200
    return check_pdf(r.content).replace("\n", "").replace(" ", "")


def test_the_pdf_prints_the_latest_notes_in_full_and_lists_the_older_ones(client, official):
    official.display_name = "市民課 山田"
    official.save()
    case = open_case(official, summary="受付の全文です。心当たりのない申込。")
    services.case_investigate(case, actor=official)
    for i in range(1, 10):
        _note(case, official, i)
    client.force_login(official)
    text = _pdf_text(client, case)  # 11 entries: the intake and the latest ten, all in full
    assert "省略" not in text
    assert all(f"記録{i}の末尾" in text for i in range(1, 10))
    for i in range(10, 16):
        _note(case, official, i)
    text = _pdf_text(client, case)
    # Intake, investigation, 15 notes: the investigation and notes 1-5 are listed in brief.
    assert "受付の全文です。心当たりのない申込。" in text
    assert "最新の10件の前までの6件は省略し、日付・記録者・1行目のみを載せています" in text
    assert f"全文はケース{case.reference}の画面にあります" in text
    assert "件数のみ" not in text
    for i in range(1, 6):
        assert f"（記録者：市民課山田）記録{i}の1行目…" in text
        assert f"記録{i}の末尾" not in text
    for i in range(6, 16):
        assert f"記録{i}の1行目" in text
        assert f"記録{i}の末尾" in text
    assert (
        text.index("記録5の1行目")
        < text.index("以下、最新の10件は全文です")
        < text.index("記録6の1行目")
    )
    md = client.get(report_url(case, "report_md")).content.decode()
    assert all(f"記録{i}の末尾" in md for i in range(1, 16))  # report.md holds them all


def test_the_pdf_counts_the_entries_beyond_the_listed_ones(client, official, monkeypatch):
    monkeypatch.setattr(document, "BRIEF_MAX", 3, raising=False)
    case = open_case(official)
    services.case_investigate(case, actor=official)
    for i in range(1, 16):
        _note(case, official, i)
    client.force_login(official)
    text = _pdf_text(client, case)
    assert "最新の10件の前までの6件は省略し" in text
    assert "（このうち古い3件は件数のみ）" in text
    assert "記録2の1行目" not in text  # counted, not listed
    assert all(f"記録{i}の1行目…" in text for i in (3, 4, 5))
