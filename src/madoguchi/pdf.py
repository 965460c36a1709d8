"""HTML to PDF with WeasyPrint, fetching nothing.

Every document the server or a command renders (receipts, notices, daily reports, case
reports, scan reports) is built from its own escaped text and needs no outside resource. The
renderer is still given a fetcher that refuses every URL but an inline `data:` one: markup or a
stylesheet that reached a document (a template that forgot to escape a name, a note) cannot
make it fetch `http://…` (a request from inside the network) or read `file://…` (a file of
the server into the PDF). WeasyPrint logs the refused URL and goes on without it.

Imports no Django app (the scan command uses it); WeasyPrint is imported when first used
(it loads native libraries).
"""

from __future__ import annotations

from typing import Any

ALLOWED_SCHEMES = frozenset({"data"})


def fetcher() -> Any:
    """WeasyPrint's fetcher, allowed only `data:` URLs and no redirects."""
    # WeasyPrint (Pango and fonts, slow to import) only when a PDF is made.
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False, timeout=2)


def html_document(html: str) -> Any:
    """The WeasyPrint document of `html` (for callers that render it themselves)."""
    # WeasyPrint (Pango and fonts, slow to import) only when a PDF is made.
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=fetcher())


def to_pdf(html: str) -> bytes:
    return bytes(html_document(html).write_pdf())
