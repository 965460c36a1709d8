"""A scan finding's link date is its case's intake date: one finding dated after today (in the
scan's input) stopped `scan open-cases` with the intake's "the date is after today", meant for
a day an official typed, and no later finding got its case; one dated before 明治6年 opened a
case whose Japanese page, report and PDF were a server error for good. Such a finding is now
set aside, one line saying which link and why, the others' cases opened, and the command
fails after."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.cases.models import Case, LegacyLink
from madoguchi.scan.labels import MISLINK_CAUSES
from madoguchi.scans import services
from madoguchi.scans.models import Finding, FindingCase
from tests import factories
from tests.scan.test_scans_app import _record


@pytest.fixture
def recorded(db, tmp_path):
    return _record(tmp_path)


def _mislinks(run):
    return Finding.objects.filter(run=run, cause__in=MISLINK_CAUSES).order_by("link_id")


def test_a_finding_dated_after_today_is_set_aside_and_the_others_cases_opened(recorded):
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    wanted = _mislinks(recorded)
    assert wanted.count() >= 2
    first = wanted.first()
    first.linked_at = timezone.now() + timedelta(days=2)
    first.save()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "scan",
            "open-cases",
            "--min-score",
            "0",
            "--as",
            "city-official",
            stdout=out,
            stderr=err,
        )
    assert "1 findings were set aside" in str(failed.value)
    # Every other finding has its case; the one set aside none, and no half of one.
    assert Case.objects.count() == wanted.count() - 1
    assert not FindingCase.objects.filter(link_id=first.link_id).exists()
    assert LegacyLink.objects.count() == Case.objects.count()
    said = err.getvalue()
    assert f"link {first.link_id}: set aside, no case opened" in said
    assert "after today" in said
    assert f"opened {wanted.count() - 1} cases, 0 already had one, 1 set aside" in out.getvalue()


def test_open_cases_counts_what_it_set_aside(recorded):
    official = factories.staff(Role.CITY_OFFICIAL)
    wanted = _mislinks(recorded)
    last = wanted.last()
    last.linked_at = datetime(1850, 1, 1, tzinfo=UTC)
    last.save()
    done = services.open_cases(recorded, actor=official, min_score=0.0)
    assert (done.opened, done.existing) == (wanted.count() - 1, 0)
    [(link_id, refusal)] = done.set_aside
    assert link_id == last.link_id
    assert refusal.code == "finding_dated_too_early"
    assert "明治6年1月1日" in refusal.message_ja


def test_a_finding_dated_before_the_eras_is_refused_on_its_page_saying_why(recorded):
    official = factories.staff(Role.CITY_OFFICIAL)
    finding = _mislinks(recorded).first()
    finding.linked_at = datetime(1850, 1, 1, tzinfo=UTC)
    finding.save()
    client = Client(raise_request_exception=False)
    client.force_login(official)
    r = client.post(reverse("scans:finding_open_case", args=[finding.pk]) + "?lang=ja", follow=True)
    said = [str(m) for m in r.context["messages"]]
    assert any("明治6年1月1日（1873-01-01）より前" in m for m in said), said
    assert not Case.objects.exists()
    assert not LegacyLink.objects.exists()
