"""The Django admin, behind the same sign-in and second factor as every staff page.

- Anyone who may see the admin (`is_staff`, `is_superuser`) needs a TOTP device to sign in at all
  (`User.requires_totp`), and the admin lets a request in only when this session's sign-in was
  verified by it (django-otp's `OTPAdminSite.has_permission`: `user.is_verified()`).
- The admin has no sign-in form of its own: `/admin/login/` sends the browser to the staff
  sign-in (`accounts.services.staff_sign_in`), which checks password, terminal and second factor
  together, answers every refusal with one message and audits the true reason. Someone already
  signed in with a role the admin is not for gets the 403 page instead.
- Every change made through the admin is an audit event (`accounts.receivers`).
- A list filter the database cannot look up (a NUL, a year, month or day that is not one) is
  refused with the reason on a page, before the list is read (it was a server error).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from madoguchi.language import switch

# A date drill-down's parts (`time__year=2026`): at most four digits each; a longer one is no
# date, and the changelist would fail building it.
_DATE_PARTS = ("__year", "__month", "__day")


def unreadable_filter(query: QueryDict) -> bool:
    """Whether a list's query holds a filter the database cannot look up: a NUL anywhere
    (PostgreSQL's text cannot hold one), or a date part that is not one to four digits."""
    for name, values in query.lists():
        for value in values:
            if "\x00" in name or "\x00" in value:
                return True
            if name.endswith(_DATE_PARTS) and not (
                value.isascii() and value.isdigit() and len(value) <= 4
            ):
                return True
    return False


class MadoguchiAdminSite(OTPAdminSite):
    # The product's name, not Django's: every admin page was headed 「Django 管理サイト」.
    site_header = _("madoguchi administration")
    site_title = _("madoguchi administration")
    index_title = _("Records and settings")

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Callable[..., Any]:
        """Every admin page, after the admin's own permission check: a list's filter that
        cannot be looked up is refused saying why (Django's changelist let the database's or
        the calendar's error through as a 500)."""

        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if "lang" in request.GET:
                # The language switch's ?lang= (LanguageFromQueryMiddleware has applied it) is
                # no filter: a list took it for one and redirected to its "?e=1" error.
                query = request.GET.copy()
                del query["lang"]
                request.GET = query  # type: ignore[assignment]
            if request.method in ("GET", "HEAD") and unreadable_filter(request.GET):
                return render(
                    request,
                    "core/server_error.html",
                    {
                        "heading": _("The request could not be read"),
                        "message": _(
                            "A filter of this list holds a character or a date the database "
                            "cannot look up (a NUL character, or a year, month or day that is "
                            "not one). Remove it from the address and open the list again."
                        ),
                        "switch": switch(request),
                    },
                    status=400,
                )
            return view(request, *args, **kwargs)

        return super().admin_view(checked, cacheable)

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The admin's 「パスワードの変更」 (the signed-in member's own password): audited as
        `staff password` is (an operator changed theirs here with no audit event; the admin's
        form for another member's password is an admin change, audited by its log entry)."""
        response = super().password_change(request, extra_context)
        if request.method == "POST" and response.status_code == 302:
            from madoguchi.audit import services as audit

            from .events import PASSWORD_SET

            user: Any = request.user  # signed in: the admin let the form through
            audit.record(
                PASSWORD_SET,
                actor=user,
                terminal=None,
                subject=user,
                payload={"username": user.get_username(), "by": user.get_username(), "own": True},
            )
        return response

    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff):
            # Signed in with a role the admin is not for (an official, desk staff): signing in
            # again changes nothing, so the page says so instead of showing the form.
            raise PermissionDenied("the admin is for operators")
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
