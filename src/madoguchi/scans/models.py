"""Recorded scan runs, their findings, and the cases opened from them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ScanRun(models.Model):
    """One ``madoguchi scan run --record``: what was scanned, on which engine, what it found."""

    started_at = models.DateTimeField(_("started at"))
    engine = models.CharField(_("engine"), max_length=20)
    # Text: a path has no length a run could be refused for (500 characters ended a recorded
    # run in the database's error after its files were written).
    input_dir = models.TextField(_("input"))
    out_dir = models.TextField(_("output"))
    rows = models.JSONField(_("input rows"), default=dict)
    counts = models.JSONField(_("findings per cause"), default=dict)
    seconds = models.FloatField(_("duration (s)"))
    # Whether its findings keep the account holder's name (runs recorded before they did:
    # False, and the cases opened from them say the name was not carried).
    holder_kana_kept = models.BooleanField(_("findings keep the holder's name"), default=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("scan run")
        verbose_name_plural = _("scan runs")

    def __str__(self) -> str:
        return f"scan {self.pk} ({timezone.localtime(self.started_at):%Y-%m-%d %H:%M %Z}, {self.engine})"

    @property
    def engine_name(self) -> str:
        """The engine as the pages name it (the product, not ``--engine``'s code)."""
        return {"duckdb": "DuckDB", "spark": "Apache Spark"}.get(self.engine, self.engine)


class Finding(models.Model):
    """One flagged link of a run (findings.parquet's row), with its reasoning and timeline."""

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="findings")
    link_id = models.CharField(_("link"), max_length=100)
    cause = models.CharField(_("cause"), max_length=30)
    score = models.FloatField(_("score"))
    rule = models.CharField(_("rule"), max_length=60)
    resident_id = models.CharField(_("resident"), max_length=100)
    other_resident_id = models.CharField(_("other resident"), max_length=100, blank=True)
    programme = models.CharField(_("programme"), max_length=30)
    channel = models.CharField(_("channel"), max_length=10)
    municipality_code = models.CharField(_("municipality"), max_length=20)
    terminal_id = models.CharField(_("terminal"), max_length=100, blank=True)
    staff_id = models.CharField(_("staff"), max_length=100, blank=True)
    session_staff = models.CharField(_("signed in"), max_length=100, blank=True)
    linked_at = models.DateTimeField(_("linked at"))
    holder_check = models.PositiveSmallIntegerField(_("name check"))
    # The account as findings.parquet holds it (keyed hash, last 4): the case's legacy link.
    account_hash = models.CharField(_("account (keyed hash)"), max_length=128, blank=True)
    account_last4 = models.CharField(_("account last 4"), max_length=8, blank=True)
    # The account holder's name as the input's links table gave it ("" when unknown): the
    # case's legacy link shows it and compares it with the resident's.
    holder_kana = models.CharField(_("account holder (kana)"), max_length=100, blank=True)
    explanation = models.TextField(_("reasoning"))
    timeline = models.JSONField(_("desk events around the commit"), default=list)

    class Meta:
        ordering = ["-score", "link_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "link_id"], name="scans_finding_one_per_link")
        ]
        indexes = [models.Index(fields=["run", "cause", "municipality_code"])]

    def __str__(self) -> str:
        return f"{self.link_id}: {self.cause} ({self.score:.2f})"


class FindingCase(models.Model):
    """The remediation case opened for a flagged link: at most one per link, across runs
    (``open-cases`` is idempotent)."""

    link_id = models.CharField(_("link"), max_length=100, unique=True)
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="scan_origin")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.link_id} -> case {self.case_id}"


class RunReport(models.Model):
    """A run's report as one reader's scope sees it (``scope``: a city's municipality code, or
    "*" for the operators' whole run), rendered once and served from here: a PDF took about
    100 s to render on a loaded machine. ``stamp`` says which findings it was built from
    (``scans.services.report_stamp``); a report whose stamp no longer matches is rendered
    again."""

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="reports")
    scope = models.CharField(_("scope"), max_length=20)
    stamp = models.CharField(_("built from"), max_length=200)
    html = models.TextField(_("report (HTML)"))
    pdf = models.BinaryField(_("report (PDF)"), null=True)
    made_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "scope"], name="scans_report_one_per_scope")
        ]

    def __str__(self) -> str:
        return f"report of scan {self.run_id} ({self.scope})"
