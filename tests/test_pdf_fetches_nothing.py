"""Side doors round 3 (docs/security.md): the PDF renderer fetches nothing from outside.

Every document is built from escaped text, but WeasyPrint's own fetcher would follow any
`http://` or `file://` URL that reached one (an unescaped name, a stylesheet): a request from
inside the network, or a server file read into the PDF."""

import http.server
import threading

import pytest

from madoguchi import pdf
from madoguchi.benefits import receipts
from madoguchi.cases import document
from madoguchi.reports import exports
from madoguchi.residents import notices
from madoguchi.scan import report as scan_report


@pytest.fixture
def listener():
    """A local HTTP server that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def hostile(base: str) -> str:
    return (
        f"<html><head><link rel='stylesheet' href='{base}/link.css'>"
        f"<style>@import url('{base}/import.css'); body {{ background: url('{base}/bg.png') }}"
        f"</style></head><body><p>name</p><img src='{base}/img.png'>"
        "<img src='file:///etc/hostname'><iframe src='file:///etc/passwd'></iframe>"
        f"<object data='{base}/object'></object></body></html>"
    )


@pytest.mark.parametrize(
    ("module", "builder", "render"),
    [
        (receipts, "receipt_html", lambda: receipts.receipt_pdf(None)),
        (notices, "notice_html", lambda: notices.notice_pdf(None)),
        (document, "to_html", lambda: document.to_pdf(None)),
        (exports, "render_document", lambda: exports.to_pdf({})),
    ],
    ids=["receipt", "notice", "case-report", "daily-report"],
)
def test_no_document_fetches_an_outside_url(monkeypatch, listener, module, builder, render):
    base, hits = listener
    monkeypatch.setattr(module, builder, lambda *a, **k: hostile(base))
    assert render().startswith(b"%PDF")
    assert hits == []


def test_the_scan_report_fetches_nothing(listener):
    base, hits = listener
    assert scan_report.to_pdf(hostile(base)).startswith(b"%PDF")
    assert hits == []


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "http://127.0.0.1:1/", "https://evil.example/", "ftp://x/"]
)
def test_the_fetcher_refuses_every_scheme_but_data(url):
    with pytest.raises(ValueError, match="disallowed protocol"):
        pdf.fetcher()(url)
    inline = pdf.fetcher()("data:text/plain,ok")  # an inline resource still works
    assert inline.read() == b"ok"
    inline.close()
