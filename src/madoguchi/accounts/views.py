from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.terminals.binding import current_terminal, lost_binding

from . import services
from .forms import SignInForm


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    terminal = current_terminal(request)
    form = SignInForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_sign_in(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                otp_token=form.cleaned_data["otp_token"],
                terminal=terminal,
            )
        except services.SignInRefused as exc:
            error = exc.public_message
            status = 403 if isinstance(exc, services.AccountLocked) else 400
            if isinstance(exc, services.TooManyAttempts):
                status = 429
        else:
            target = request.GET.get("next", "")
            if target and url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                return redirect(target)
            return redirect("core:home")
    elif request.method == "POST":
        status = 400
    # Where a lapsed session was sent (core.middleware.StaffSessionLimitsMiddleware): why.
    lapsed = request.GET.get("lapsed", "")
    notice = (
        services.SessionLapsed.lapse(lapsed).text()
        if lapsed in services.SessionLapsed.messages and error is None
        else None
    )
    # A browser that was a terminal and is no more (another browser enrolled as it, its
    # credential revoked): why, where it reads "not a registered terminal" otherwise. A desk
    # browser whose staff sign-in had already ended was told only the general line.
    lost = lost_binding(request) if terminal is None else None
    return render(
        request,
        "accounts/sign_in.html",
        {
            "form": form,
            "error": error,
            "terminal": terminal,
            "notice": notice,
            "lost_terminal": lost.refusal().text() if lost is not None else "",
        },
        status=status,
    )


@require_POST
@login_required
def sign_out(request: HttpRequest) -> HttpResponse:
    services.staff_sign_out(request=request)
    return redirect("accounts:login")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: object = None
) -> HttpResponse:
    """django-axes calls this on lockout; the sign-in view has already rendered the reason."""
    if original_response is not None:
        return original_response
    return render(
        request,
        "accounts/sign_in.html",
        {"form": SignInForm(), "error": services.AccountLocked.message},
        status=403,
    )
