import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from madoguchi.audit.throttle import client_source

from . import binding
from .services import TerminalError, binding_issue


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Bind this browser to a terminal by its credential (done once per terminal)."""
    context: dict[str, object] = {
        "terminal": binding.current_terminal(request),
        "demo_terminals": sorted(_demo_credentials()) if settings.DEMO else [],
    }
    if request.method == "POST":
        raw = request.POST.get("credential", "")
        if settings.DEMO and request.POST.get("demo_terminal"):
            raw = _demo_credentials().get(request.POST["demo_terminal"], "")
        try:
            issued = binding_issue(raw_credential=raw, client=client_source(request))
        except TerminalError as exc:
            context["error"] = exc.message
            return render(request, "terminals/enrol.html", context, status=400)
        terminal = issued.binding.terminal
        context["enrolled"] = terminal
        context["terminal"] = terminal
        response = render(request, "terminals/enrol.html", context)
        # The browser keeps its own binding secret, never the terminal credential.
        binding.bind(response, issued.raw, secure=settings.SESSION_COOKIE_SECURE)
        return response
    return render(request, "terminals/enrol.html", context)


def _demo_credentials() -> dict[str, str]:
    """Demo only: the credentials `madoguchi demo` issued, so enrolment is one click."""
    path = settings.DATA_DIR / "demo" / "terminals.json"
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data
