"""Rows for ledger tests without cards (the signed path is tested in test_point_application)."""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

from django.utils import timezone

from madoguchi.benefits import identifiers
from madoguchi.benefits.models import PaymentLink, Programme, Provider
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.identity.models import Holder, HolderCertificate, Nonce
from madoguchi.terminals import services as terminal_services
from tests import factories

_n = itertools.count(1)


def desk_session():
    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


def holder() -> Holder:
    h = Holder.objects.create()
    HolderCertificate.objects.create(
        holder=h,
        issuer_dn="CN=test",
        serial=secrets.token_hex(8),
        fingerprint=secrets.token_hex(32),
        not_after=timezone.now() + timedelta(days=365),
    )
    return h


def link(
    h: Holder,
    *,
    programme: Programme,
    provider: Provider,
    account: str,
    account_ref: str = "simpay-acct-0001",
    session=None,
) -> PaymentLink:
    session = session or desk_session()
    now = timezone.now()
    cert = h.certificates.first()
    visit = Visit.objects.create(
        terminal=session.terminal,
        desk_session=session,
        staff=session.staff,
        holder=h,
        certificate=cert,
        started_at=now,
        last_activity_at=now,
        last_presence_at=now,
        ended_at=now,
        end_reason="next_resident",
    )
    nonce = Nonce.objects.create(
        value=secrets.token_hex(16),
        purpose="completion",
        desk_session=session,
        terminal=session.terminal,
        issued_at=now,
        expires_at=now,
        used_at=now,
    )
    completion = Completion.objects.create(
        visit=visit,
        nonce=nonce,
        transaction_bytes=b"{}",
        transaction_digest="0" * 64,
        token="t",
        certificate=cert,
        committed_at=now,
    )
    procedure = Procedure.objects.create(visit=visit, kind="point_application", status="committed")
    return PaymentLink.objects.create(
        holder=h,
        visit=visit,
        procedure=procedure,
        completion=completion,
        programme=programme,
        programme_version=programme.current_version(),
        provider=provider,
        account_hash=identifiers.identifier_hash(account),
        account_last4=identifiers.last4(account),
        account_ref=account_ref,
        resident_kana="ヤマダ タロウ",
        kana_source="resident_entry",
        name_outcome="match",
        name_reason="EXACT",
        name_score=100,
    )


def programme(code: str | None = None, categories=None) -> Programme:
    from madoguchi.benefits.services import programme_version_create

    p = Programme.objects.create(
        code=code or f"test-{next(_n)}-{secrets.token_hex(3)}", scope="municipal"
    )
    programme_version_create(
        p,
        name_ja="テスト事業",
        opens_at=timezone.now() - timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=30),
        categories=categories
        or [
            {
                "code": "c1",
                "label_ja": "申込",
                "kind": "fixed",
                "points": 100,
                "trigger": "application",
            },
            {
                "code": "c2",
                "label_ja": "追加",
                "kind": "fixed",
                "points": 250,
                "trigger": "application",
            },
            {
                "code": "card_acquisition",
                "label_ja": "取得",
                "kind": "rate",
                "rate_percent": 25,
                "cap": 5000,
                "trigger": "provider_report",
            },
        ],
    )
    return p


def provider(code: str = "sim-pay") -> Provider:
    return Provider.objects.get_or_create(
        code=code, defaults={"display_name_ja": "シミュレーションペイ"}
    )[0]
