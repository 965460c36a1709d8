"""Rate-limited audit events for unauthenticated requests (bad agent tokens, enrolment attempts,
failed sign-ins).

The rule: per kind of event (event name and reason), source (client address) and minute, the
first event is written to the log as usual; repeats only count up a tally row (no append, no
audit head lock); once the minute is over, one `audit.unauthenticated_repeats` event records how
many repeats there were (`flush`, run by the sweeper and at the first event of a later minute).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.http import HttpRequest
from django.utils import timezone

from madoguchi.era import format_local_time
from madoguchi.language import english

from . import services
from .events import EventType, UnknownEventError, register
from .events import get as get_event
from .models import UnauthenticatedTally


def describe_repeats(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The repeated event as what it is (its title: 「ユーザー名 … のサインインに失敗しました」,
    not accounts.sign_in_failed) and its reason as that event says it; unknown ones stay. The
    minute in the city's time as the pages date things (令和8年12月4日 06:05), not the stored
    UTC form (2026-12-03T21:05:00+00:00)."""
    name, reason = str(payload.get("event", "?")), str(payload.get("reason", ""))
    said_minute = _minute_in_words(payload.get("minute"), lang)
    try:
        repeated = get_event(name)
    except UnknownEventError:
        return {"event": f"{name}:{reason}" if reason else name, **said_minute}
    # The repeated event's line with its reason (its `reason` or its `code`, as its own line
    # names it) said in words, its other values left out (…).
    template = repeated.template(lang)
    key = "reason" if "{reason}" in template else "code"
    said = str(repeated.words({key: reason}, lang).get(key, reason))
    parts = [re.sub(r"\{[^{}]*\}", "…", part) for part in template.split("{" + key + "}")]
    text = said.join(parts)
    if len(parts) == 1 and reason:
        text += f"（{said}）" if not english(lang) else f" ({said})"
    return {"event": text, **said_minute}


def _minute_in_words(value: Any, lang: str) -> dict[str, str]:
    """{"minute": …} in the city's time, or nothing when the stored value is not a moment."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return {}
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return {"minute": format_local_time(moment, japanese=not english(lang))}


REPEATS = register(
    EventType(
        9091,
        "audit.unauthenticated_repeats",
        ja="{source} から {minute} の1分間に「{event}」が {count} 回繰り返されました",
        en="{count} repeats of \u201c{event}\u201d from {source} in the minute {minute}",
        describe=describe_repeats,
    )
)


def client_source(request: HttpRequest | None) -> str:
    """Where an unauthenticated request came from (the peer address; the proxy in front is
    trusted to set REMOTE_ADDR, as gunicorn does with --forwarded-allow-ips)."""
    if request is None:
        return "local"
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:100]


def record_unauthenticated(
    event: str | EventType,
    *,
    source: str,
    reason: str = "",
    actor: Any = None,
    terminal: Any = None,
    subject: Any = None,
    payload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Record an unauthenticated event, rate-limited. True when it was written to the log,
    False when it was counted as a repeat of this minute's first one."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    kind = f"{get_event(event).name}:{reason}"[:120]
    source = source[:100]
    with transaction.atomic():
        counted = UnauthenticatedTally.objects.filter(
            kind=kind, source=source, minute=minute
        ).update(count=F("count") + 1)
        if counted:
            return False
        try:
            with transaction.atomic():
                UnauthenticatedTally.objects.create(kind=kind, source=source, minute=minute)
        except IntegrityError:  # another request of the same minute got there first
            UnauthenticatedTally.objects.filter(kind=kind, source=source, minute=minute).update(
                count=F("count") + 1
            )
            return False
        services.record(
            event,
            actor=actor,
            terminal=terminal,
            subject=subject,
            payload={**(payload or {}), "source": source},
        )
    flush(now=now)
    return True


def count_this_minute(
    event: str | EventType, *, source: str, reason: str = "", now: datetime | None = None
) -> int:
    """How many events of this kind from this source were recorded or counted this minute."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    kind = f"{get_event(event).name}:{reason}"[:120]
    row = (
        UnauthenticatedTally.objects.filter(kind=kind, source=source[:100], minute=minute)
        .values_list("count", flat=True)
        .first()
    )
    return int(row or 0)


def count_any_this_minute(
    events: Sequence[str | EventType], *, source: str, now: datetime | None = None
) -> int:
    """How many events of any of these types, whatever their reason, came from this source
    this minute (recorded or counted)."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    kinds = Q()
    for event in events:
        kinds |= Q(kind__startswith=f"{get_event(event).name}:")
    total = UnauthenticatedTally.objects.filter(
        kinds, source=source[:100], minute=minute
    ).aggregate(total=Sum("count"))["total"]
    return int(total or 0)


def flush(*, now: datetime | None = None) -> int:
    """Write one summary event per finished minute that had repeats. Returns how many."""
    now = now or timezone.now()
    current = now.replace(second=0, microsecond=0)
    written = 0
    pending = UnauthenticatedTally.objects.filter(summarised=False, minute__lt=current)
    for tally_id in list(pending.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            tally = (
                UnauthenticatedTally.objects.select_for_update()
                .filter(pk=tally_id, summarised=False)
                .first()
            )
            if tally is None:
                continue
            tally.summarised = True
            tally.save(update_fields=["summarised"])
            if tally.count > 1:
                event, _, reason = tally.kind.partition(":")
                services.record(
                    REPEATS,
                    payload={
                        "event": event,
                        "reason": reason,
                        "source": tally.source,
                        "minute": tally.minute.isoformat(),
                        "count": tally.count - 1,
                    },
                )
                written += 1
    return written
