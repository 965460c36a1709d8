"""The Django admin, behind the same sign-in and second factor as every staff page.

- Anyone who may see the admin (`is_staff`, `is_superuser`) needs a TOTP device to sign in at all
  (`User.requires_totp`), and the admin lets a request in only when this session's sign-in was
  verified by it (django-otp's `OTPAdminSite.has_permission`: `user.is_verified()`).
- The admin has no sign-in form of its own: `/admin/login/` sends the browser to the staff
  sign-in (`accounts.services.staff_sign_in`), which checks password, terminal and second factor
  together, answers every refusal with one message and audits the true reason. Someone already
  signed in with a role the admin is not for gets the 403 page instead.
- Every change made through the admin is an audit event (`accounts.receivers`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class MadoguchiAdminSite(OTPAdminSite):
    def login(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff):
            # Signed in with a role the admin is not for (an official, desk staff): signing in
            # again changes nothing, so the page says so instead of showing the form.
            raise PermissionDenied("the admin is for operators")
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': target})}")
