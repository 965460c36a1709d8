"""Documents name the time zone of the times they show: 日本時間 (Japan time) in Japan's zone,
settings.TIME_ZONE as the product sets it; in any other zone its own name (and offset when it
has no summer time), never 日本時間 as fixed text."""

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from madoguchi.dates import zone_words


@pytest.mark.parametrize(
    ("zone", "ja", "en"),
    [
        ("Asia/Tokyo", "日本時間", "Japan time"),
        ("UTC", "UTC、UTC+00:00", "UTC, UTC+00:00"),
        ("Asia/Kolkata", "Asia/Kolkata、UTC+05:30", "Asia/Kolkata, UTC+05:30"),
        ("America/Caracas", "America/Caracas、UTC-04:00", "America/Caracas, UTC-04:00"),
        ("Europe/Berlin", "Europe/Berlin", "Europe/Berlin"),  # summer time: no one offset
    ],
)
def test_the_zone_is_named_as_it_is(zone, ja, en):
    with timezone.override(ZoneInfo(zone)):
        assert zone_words("ja") == ja
        assert zone_words("en") == en
        with translation.override("en"):
            assert zone_words() == en
        with translation.override("ja"):
            assert zone_words() == ja
