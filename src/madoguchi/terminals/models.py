from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.plaintext import plain_name

from .constants import DeskSessionCloseReason


class Terminal(models.Model):
    """A registered desk terminal: a PC at a desk, with a card reader and a card agent."""

    name = models.CharField(_("name"), max_length=100, unique=True, validators=[plain_name])
    location = models.CharField(_("desk location"), max_length=200, validators=[plain_name])
    contractor = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="terminals",
        verbose_name=_("contractor"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> str:
        """Where the desk is, as a resident reads it (their page, the receipt): its location.
        The terminal's name (desk-01) is an id staff use; it stands in only when the terminal
        has no location."""
        return str(self.location or self.name)


class TerminalCredential(models.Model):
    """A secret a terminal (its browser and its card agent) presents. Stored only as a hash.

    The raw credential is `mdt_<prefix>_<secret>`; it is shown once when issued.
    """

    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="credentials", verbose_name=_("terminal")
    )
    prefix = models.CharField(max_length=16, unique=True, verbose_name=_("prefix"))
    secret_hash = models.CharField(max_length=64, verbose_name=_("secret's hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("terminal credential")
        verbose_name_plural = _("terminal credentials")

    def __str__(self) -> str:
        return f"{self.terminal} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class TerminalBinding(models.Model):
    """What binds one browser to a terminal: a secret of its own, kept in the browser's cookie.

    Issued at each enrolment (which revokes the terminal's earlier bindings: rotated), stored as
    a SHA-256 hash, revocable. The terminal credential itself never reaches a browser. The
    cookie holds `mdb_<prefix>_<secret>`.
    """

    terminal = models.ForeignKey(Terminal, on_delete=models.PROTECT, related_name="bindings")
    credential = models.ForeignKey(
        TerminalCredential, on_delete=models.PROTECT, related_name="bindings"
    )
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("terminal browser binding")
        verbose_name_plural = _("terminal browser bindings")

    def __str__(self) -> str:
        return f"{self.terminal} browser ({self.prefix})"


class DeskSession(models.Model):
    """One staff member signed in on one terminal. At most one open per terminal."""

    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, related_name="desk_sessions", verbose_name=_("terminal")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="desk_sessions",
        verbose_name=_("staff member"),
    )
    opened_at = models.DateTimeField(auto_now_add=True, verbose_name=_("started at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    close_reason = models.CharField(
        max_length=20,
        choices=DeskSessionCloseReason.choices,
        blank=True,
        verbose_name=_("reason it closed"),
    )
    # When its browser last made a request, at the staff session's resolution (written when
    # `accounts.services.session_check` writes it, at most once a minute); None: not since it
    # opened. The sweeper closes a desk session idle beyond STAFF_IDLE_SECONDS.
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("desk session")
        verbose_name_plural = _("desk sessions")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(closed_at__isnull=True),
                name="one_open_desk_session_per_terminal",
            ),
            models.UniqueConstraint(
                fields=["staff"],
                condition=Q(closed_at__isnull=True),
                name="one_open_desk_session_per_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.terminal}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
