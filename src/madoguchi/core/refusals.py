"""Moved to `madoguchi.refusals` (the lowest layer, ADR 1002). This alias keeps branches that
imported it from here during issue 10 working until they merge; import `madoguchi.refusals`."""

from madoguchi.refusals import (  # noqa: F401
    ByLanguage,
    CsrfFailed,
    HttpRefused,
    MalformedRequest,
    Refusal,
    Text,
    Unauthenticated,
)
