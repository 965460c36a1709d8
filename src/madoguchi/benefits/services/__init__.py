"""Benefits services, one module per job (programmes, names, representatives, grants,
remediation, payouts); this package re-exports their public names, so callers import
`madoguchi.benefits.services` as before. Procedures (procedures.py) call into it; so do cases.

Public entry points (the desk pages and the cases engineer call these):

- representative_challenge(desk_session) / representative_authenticate(desk_session, token, nonce, ...)
- link_suspend(link, *, actor, reason) / link_replace_via_case(link, *, actor, case_ref, reason)
- public_fund_suspend(account, *, actor, reason) / public_fund_release_via_case(account, *, actor, case_ref, reason)
- health_insurance_suspend_via_case(registration, *, actor, case_ref, reason): the insurer's
  cancellation, through the outbox (refused while `health_insurance_ref_disputed`)
- ledger_return(link, *, actor, reason)
- ledger_regrant(grant, *, to_link, actor, reason)
- card_acquisition_grant(link, *, charged_yen, source_ref, actor)
- payout_batch_create(provider, programme) / payout_batch_send(batch) /
  payout_hold_release(item, *, actor): a payout the provider refused, held until released
- identifiers.identifier_matches(presented, stored_hash)
"""

from .base import BenefitsRefused, outside_failure, truthy
from .grants import card_acquisition_grant, grants_evaluate
from .names import name_decide, name_fields_for_row, resident_kana
from .payouts import payout_batch_create, payout_batch_send, payout_hold_release
from .programmes import (
    category_points_text,
    problems_text,
    programme_version_create,
    validate_categories,
)
from .remediation import (
    health_insurance_ref_disputed,
    health_insurance_suspend_via_case,
    ledger_regrant,
    ledger_return,
    link_replace_via_case,
    link_suspend,
    public_fund_release_via_case,
    public_fund_suspend,
)
from .representatives import representative_authenticate, representative_challenge

__all__ = [
    "BenefitsRefused",
    "card_acquisition_grant",
    "category_points_text",
    "grants_evaluate",
    "health_insurance_ref_disputed",
    "health_insurance_suspend_via_case",
    "ledger_regrant",
    "ledger_return",
    "link_replace_via_case",
    "link_suspend",
    "name_decide",
    "name_fields_for_row",
    "outside_failure",
    "payout_batch_create",
    "payout_batch_send",
    "payout_hold_release",
    "problems_text",
    "programme_version_create",
    "public_fund_release_via_case",
    "public_fund_suspend",
    "representative_authenticate",
    "representative_challenge",
    "resident_kana",
    "truthy",
    "validate_categories",
]
