"""`check --deploy`: a city's incident reports name whom to ask (問い合わせ先). Without a contact
block or the CASES_CITY_* settings they printed 「問い合わせ先 担当課： 電話：」, labels with nothing
after them, in the city's published document."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register
from django.db import DatabaseError

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation

from .models import CityContact

# The settings a deployment's default contact needs, by the contact block's field.
NEEDED = (("department", "CASES_CITY_DEPARTMENT"), ("phone", "CASES_CITY_PHONE"))


@register(deploy=True)
def city_contact_set(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A case's report prints its city's contact block, else the one naming no city, else
    settings.CASES_CITY_CONTACT (`document.contact_block`): warn when that default lacks the
    department or the phone and so some report would print no 問い合わせ先, or only part."""
    conf = getattr(settings, "CASES_CITY_CONTACT", {}) or {}
    missing = [name for key, name in NEEDED if not str(conf.get(key, "")).strip()]
    if not missing:
        return []
    try:
        if CityContact.objects.filter(city__isnull=True).exists():
            return []
        cities = Organisation.objects.filter(kind=OrganisationKind.CITY)
        any_city = cities.exists()
        own = CityContact.objects.filter(city__isnull=False).values("city")
        without = list(cities.exclude(pk__in=own).order_by("name").values_list("name", flat=True))
    except DatabaseError:
        return []  # a database that cannot be read is named by madoguchi.E101
    no_city = "any case of no city (a resident's report without a desk)"
    whose = ", ".join([*without, no_city]) if any_city else "every case"
    prints = "only part of 問い合わせ先" if len(missing) < len(NEEDED) else "no 問い合わせ先"
    return [
        Warning(
            f"No contact (問い合わせ先) for the incident reports of {whose}: no city contact "
            f"block names no city and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set, so those reports print "
            f"{prints}.",
            hint="Save a contact block in the admin (Cases → city contact blocks), one naming "
            "each city or one naming none for every city without its own, or set "
            "CASES_CITY_DEPARTMENT and CASES_CITY_PHONE (README, Configuration).",
            id="madoguchi.W115",
        )
    ]
