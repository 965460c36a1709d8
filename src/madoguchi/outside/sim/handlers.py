"""The simulated payment providers, bank and health insurer."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from madoguchi.outside.sim.seed import SeedError
from madoguchi.outside.sim.server import Answer, SimApp, SimKind, error

MAX_WRONG_CODES = 5
ACCOUNT_STATUSES = frozenset({"active", "suspended", "closed"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _strings(body: dict[str, Any], *names: str) -> list[str] | None:
    values = [body.get(n) for n in names]
    if not all(isinstance(v, str) and v for v in values):
        return None
    return [str(v) for v in values]


def _missing(*names: str) -> Answer:
    return error(400, "invalid_request", f"required text fields: {', '.join(names)}")


class ProviderApp(SimApp):
    """Several payment providers, each under `/providers/<code>/v1/...`."""

    kind = SimKind.PROVIDER
    masked_fields = frozenset({"payment_service_id"})

    def reset(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self.by_id: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_ref: dict[tuple[str, str], dict[str, Any]] = {}
        self.wrong_codes: dict[tuple[str, str], int] = {}
        self.batches: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.payout_count = 0
        for provider in copy.deepcopy(self.seed.get("provider", {}).get("providers", [])):
            self.providers[provider["code"]] = provider
            for account in provider.get("accounts", []):
                if account["status"] not in ACCOUNT_STATUSES:
                    raise SeedError(
                        f"the seed's account {account['account_ref']!r} of {provider['code']!r} "
                        f"has status {account['status']!r}, which is none of "
                        f"{', '.join(sorted(ACCOUNT_STATUSES))}"
                    )
                account.setdefault("points_balance", 0)
        self._index_accounts()

    def _index_accounts(self) -> None:
        """Each provider's accounts by payment service ID and by account reference."""
        self.by_id = {}
        self.by_ref = {}
        for code, provider in self.providers.items():
            for account in provider.get("accounts", []):
                self.by_id[(code, account["payment_service_id"])] = account
                self.by_ref[(code, account["account_ref"])] = account

    def requires_idempotency_key(self, method: str, parts: list[str]) -> bool:
        return parts[-1:] in (["payouts"], ["suspend"])

    def state(self) -> dict[str, Any]:
        return {
            "providers": self.providers,
            "wrong_codes": [[c, p, n] for (c, p), n in self.wrong_codes.items()],
            "batches": [[c, b, fp, a] for (c, b), (fp, a) in self.batches.items()],
            "payout_count": self.payout_count,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.providers = state["providers"]
        self._index_accounts()
        self.wrong_codes = {(c, p): n for c, p, n in state["wrong_codes"]}
        self.batches = {(c, b): (fp, a) for c, b, fp, a in state["batches"]}
        self.payout_count = state["payout_count"]

    def _account_json(self, code: str, account: dict[str, Any]) -> dict[str, Any]:
        names = self.providers[code].get("holder_names", True)
        return {
            "account_ref": account["account_ref"],
            "holder_name_kana": account.get("holder_name_kana") if names else None,
            "status": account["status"],
            "points_balance": account["points_balance"],
        }

    def handle(self, method: str, parts: list[str], body: dict[str, Any]) -> Answer:
        if parts == ["providers"] and method == "GET":
            return 200, {
                "providers": [
                    {
                        k: p[k]
                        for k in ("code", "display_name_ja", "display_name_en", "holder_names")
                    }
                    for p in self.providers.values()
                ]
            }
        if len(parts) < 4 or parts[0] != "providers" or parts[2] != "v1":
            return error(404, "not_found", "no such endpoint")
        code, rest = parts[1], parts[3:]
        if code not in self.providers:
            return error(404, "unknown_provider", f"no provider {code!r} here")
        if method == "POST" and rest == ["accounts", "verify"]:
            return self.verify(code, body)
        if method == "GET" and len(rest) == 2 and rest[0] == "accounts":
            account = self.by_ref.get((code, rest[1]))
            if account is None:
                return error(404, "account_not_found", "no such account")
            return 200, self._account_json(code, account)
        if method == "POST" and len(rest) == 3 and rest[0] == "accounts" and rest[2] == "suspend":
            return self.suspend(code, rest[1])
        if method == "POST" and rest == ["payouts"]:
            return self.payout(code, body)
        return error(404, "not_found", "no such endpoint")

    def verify(self, code: str, body: dict[str, Any]) -> Answer:
        values = _strings(body, "payment_service_id", "security_code")
        if values is None:
            return _missing("payment_service_id", "security_code")
        psid, security_code = values
        account = self.by_id.get((code, psid))
        if account is None:
            return error(404, "account_not_found", "no account with this payment service ID")
        key = (code, psid)
        if self.wrong_codes.get(key, 0) >= MAX_WRONG_CODES:
            return error(423, "verification_locked", "too many wrong security codes")
        if not hmac.compare_digest(security_code.encode(), account["security_code"].encode()):
            wrong = self.wrong_codes.get(key, 0) + 1
            self.wrong_codes[key] = wrong
            if wrong >= MAX_WRONG_CODES:
                return error(423, "verification_locked", "too many wrong security codes")
            return error(
                422,
                "security_code_wrong",
                "the security code does not match",
                attempts_left=MAX_WRONG_CODES - wrong,
            )
        self.wrong_codes.pop(key, None)
        return 200, self._account_json(code, account)

    def suspend(self, code: str, ref: str) -> Answer:
        account = self.by_ref.get((code, ref))
        if account is None:
            return error(404, "account_not_found", "no such account")
        if account["status"] == "active":
            account["status"] = "suspended"
        return 200, self._account_json(code, account)

    def payout(self, code: str, body: dict[str, Any]) -> Answer:
        batch_id = body.get("batch_id")
        items = body.get("items")
        if (
            not isinstance(batch_id, str)
            or not batch_id
            or not isinstance(items, list)
            or not items
        ):
            return error(400, "invalid_request", "batch_id and a non-empty items list are required")
        clean: list[tuple[str, str, int]] = []
        for item in items:
            if not isinstance(item, dict):
                return error(400, "invalid_request", "each item is an object")
            item_id, ref, points = item.get("item_id"), item.get("account_ref"), item.get("points")
            if not (isinstance(item_id, str) and isinstance(ref, str)):
                return error(400, "invalid_request", "item_id and account_ref are text")
            if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
                return error(400, "invalid_request", "points is a positive integer")
            clean.append((item_id, ref, points))
        if len({c[0] for c in clean}) != len(clean):
            return error(400, "invalid_request", "item ids repeat within the batch")
        fingerprint = hashlib.sha256(json.dumps(clean).encode()).hexdigest()
        stored = self.batches.get((code, batch_id))
        if stored is not None:
            if stored[0] != fingerprint:
                return error(409, "batch_conflict", "this batch id was paid with different items")
            return 200, {**stored[1], "replayed": True}
        results = []
        for item_id, ref, points in clean:
            account = self.by_ref.get((code, ref))
            reason = None
            if account is None:
                reason = "account_not_found"
            elif account["status"] != "active":
                reason = f"account_{account['status']}"
            else:
                account["points_balance"] += points
            results.append(
                {
                    "item_id": item_id,
                    "account_ref": ref,
                    "points": points,
                    "status": "rejected" if reason else "paid",
                    "reason": reason,
                }
            )
        self.payout_count += 1
        answer = {
            "batch_id": batch_id,
            "payout_ref": f"{code}-payout-{self.payout_count:06d}",
            "accepted_at": _now(),
            "items": results,
        }
        self.batches[(code, batch_id)] = (fingerprint, answer)
        return 200, answer


class BankApp(SimApp):
    """Account holder lookup (口座名義照会)."""

    kind = SimKind.BANK
    masked_fields = frozenset({"account_number"})

    def reset(self) -> None:
        section = self.seed.get("bank", {})
        self.banks = {b["bank_code"]: b for b in section.get("banks", [])}
        self.accounts = {
            (a["bank_code"], a["branch_code"], a["account_type"], a["account_number"]): a
            for a in copy.deepcopy(section.get("accounts", []))
        }

    def handle(self, method: str, parts: list[str], body: dict[str, Any]) -> Answer:
        if method != "POST" or parts != ["v1", "accounts", "lookup"]:
            return error(404, "not_found", "no such endpoint")
        names = ("bank_code", "branch_code", "account_type", "account_number")
        values = _strings(body, *names)
        if values is None:
            return _missing(*names)
        account = self.accounts.get((values[0], values[1], values[2], values[3]))
        if account is None:
            return error(404, "account_not_found", "no such account")
        bank = self.banks.get(account["bank_code"], {})
        return 200, {
            "holder_name_kana": account.get("holder_name_kana"),
            "status": account["status"],
            "bank_name": bank.get("name", ""),
            "branch_name": bank.get("branches", {}).get(account["branch_code"], ""),
        }


class InsurerApp(SimApp):
    """Health-insurance use registration."""

    kind = SimKind.INSURER
    masked_fields = frozenset({"insured_number", "card_cert_fingerprint"})

    def reset(self) -> None:
        self.records = {
            (r["insurer_number"], r["insured_symbol"], r["insured_number"], r["branch"]): r
            for r in copy.deepcopy(self.seed.get("insurer", {}).get("records", []))
        }
        self.count = 0
        # Registrations cancelled (利用停止), by reference: a cancelled registration no longer
        # holds its insured person, who may be registered again with a card.
        self.cancelled: dict[str, dict[str, Any]] = {}
        for record in self.records.values():
            if record.get("registered_card_fingerprint"):
                self._stamp(record, record["registered_card_fingerprint"])

    def requires_idempotency_key(self, method: str, parts: list[str]) -> bool:
        return parts == ["v1", "registrations"] or self._cancel_ref(method, parts) is not None

    @staticmethod
    def _cancel_ref(method: str, parts: list[str]) -> str | None:
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["v1", "registrations"]
            and parts[3] == "cancel"
            and parts[2]
        ):
            return parts[2]
        return None

    def state(self) -> dict[str, Any]:
        return {
            "records": list(self.records.values()),
            "count": self.count,
            "cancelled": self.cancelled,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.records = {
            (r["insurer_number"], r["insured_symbol"], r["insured_number"], r["branch"]): r
            for r in state["records"]
        }
        self.count = state["count"]
        self.cancelled = dict(state.get("cancelled") or {})

    def _cancel(self, ref: str) -> Answer:
        """Cancel a registration: its insured person is free to be registered again (with
        the right card). The same registration again answers `already_cancelled`."""
        if ref in self.cancelled:
            done = self.cancelled[ref]
            return 200, {
                "registration_ref": ref,
                "status": "already_cancelled",
                "cancelled_at": done["cancelled_at"],
            }
        for record in self.records.values():
            if record.get("registration_ref") == ref:
                break
        else:
            return error(404, "registration_not_found", "no such registration")
        when = _now()
        self.cancelled[ref] = {
            "cancelled_at": when,
            "request_ref": record.get("request_ref") or None,
            "insurer_number": record["insurer_number"],
            "insured_last4": record["insured_number"][-4:],
        }
        for name in ("registered_card_fingerprint", "registration_ref", "registered_at"):
            record[name] = None
        record["request_ref"] = ""
        return 200, {"registration_ref": ref, "status": "cancelled", "cancelled_at": when}

    def _lookup(self, body: dict[str, Any]) -> Answer:
        """Read-only: the insured person's attributes, for comparing with the card holder
        before anything is registered. Changes nothing."""
        names = ("insurer_number", "insured_symbol", "insured_number", "branch")
        values = _strings(body, *names)
        if values is None:
            return _missing(*names)
        record = self.records.get((values[0], values[1], values[2], values[3]))
        if record is None:
            return error(404, "insured_person_not_found", "no such insured person")
        return 200, {
            "insured_name": record.get("insured_name"),
            "insured_name_kana": record.get("insured_name_kana"),
            "birth_date": record.get("birth_date"),
            "sex": record.get("sex"),
            "status": record["status"],
        }

    def _stamp(self, record: dict[str, Any], fingerprint: str, request_ref: str = "") -> None:
        self.count += 1
        record["registered_card_fingerprint"] = fingerprint
        record["registration_ref"] = f"ins-reg-{self.count:06d}"
        record["registered_at"] = _now()
        record["request_ref"] = request_ref

    def _registrations(self) -> Answer:
        """Read-only: every registration the insurer holds, with the requester's reference (for
        the requester's reconciliation). Insured numbers only as their last 4."""
        return 200, {
            "registrations": [
                {
                    "registration_ref": r["registration_ref"],
                    "request_ref": r.get("request_ref") or None,
                    "insurer_number": r["insurer_number"],
                    "insured_last4": r["insured_number"][-4:],
                    "card_cert_fingerprint": r["registered_card_fingerprint"],
                    "insured_name_kana": r.get("insured_name_kana"),
                    "registered_at": r["registered_at"],
                }
                for r in self.records.values()
                if r.get("registration_ref")
            ]
        }

    def handle(self, method: str, parts: list[str], body: dict[str, Any]) -> Answer:
        if method == "POST" and parts == ["v1", "insured-persons", "lookup"]:
            return self._lookup(body)
        if method == "GET" and parts == ["v1", "registrations"]:
            return self._registrations()
        cancel = self._cancel_ref(method, parts)
        if cancel is not None:
            return self._cancel(cancel)
        if method != "POST" or parts != ["v1", "registrations"]:
            return error(404, "not_found", "no such endpoint")
        names = (
            "insurer_number",
            "insured_symbol",
            "insured_number",
            "branch",
            "card_cert_fingerprint",
        )
        values = _strings(body, *names)
        if values is None:
            return _missing(*names)
        record = self.records.get((values[0], values[1], values[2], values[3]))
        if record is None:
            return error(404, "insured_person_not_found", "no such insured person")
        if record["status"] != "active":
            return error(422, "insurance_not_eligible", "the insured person is no longer eligible")
        fingerprint = values[4].lower()
        existing = record.get("registered_card_fingerprint")
        if existing and not hmac.compare_digest(existing.encode(), fingerprint.encode()):
            return error(409, "registered_to_another_card", "already registered with another card")
        status = "already_registered" if existing else "registered"
        if not existing:
            request_ref = body.get("request_ref")
            self._stamp(record, fingerprint, request_ref if isinstance(request_ref, str) else "")
        return 200, {
            "registration_ref": record["registration_ref"],
            "status": status,
            "insured_name_kana": record.get("insured_name_kana"),
            "registered_at": record["registered_at"],
        }


APPS: dict[SimKind, type[SimApp]] = {
    SimKind.PROVIDER: ProviderApp,
    SimKind.BANK: BankApp,
    SimKind.INSURER: InsurerApp,
}
