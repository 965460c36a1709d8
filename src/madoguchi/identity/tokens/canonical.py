"""Canonical bytes of a transaction (RFC 8785, JSON Canonicalization Scheme).

The completion signature commits to ``SHA-256(canonical_transaction_bytes(tx))``. The server
rebuilds ``tx`` from what it is about to write and compares; any changed field changes the bytes.

Accepted values: ``Mapping`` with ``str`` keys, ``list``/``tuple``, ``str``, ``int`` within the
I-JSON range (|n| <= 2**53 - 1), ``bool`` and ``None``. Floats are refused (amounts are integer
yen), as are non-string keys, bytes, dates, decimals and anything else: the caller converts them
to strings or integers explicitly, so the encoding never depends on a library's defaults.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32


class TransactionEncodingError(ValueError):
    """The transaction cannot be canonicalised; the message says which value and why."""


def _plain(value: object, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TransactionEncodingError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise TransactionEncodingError(f"{path}: integer outside the I-JSON range (±2**53-1)")
        return int(value)
    if isinstance(value, float):
        raise TransactionEncodingError(f"{path}: floats are not allowed; use an integer")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TransactionEncodingError(f"{path}: string is not valid Unicode") from exc
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TransactionEncodingError(
                    f"{path}: key {key!r} is a {type(key).__name__}, keys must be strings"
                )
            out[_plain(key, f"{path}.<key>", depth + 1)] = _plain(item, f"{path}.{key}", depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise TransactionEncodingError(f"{path}: values of type {type(value).__name__} are not allowed")


def canonical_transaction_bytes(tx: Mapping[str, object]) -> bytes:
    """RFC 8785 canonical UTF-8 JSON of ``tx`` (keys sorted by UTF-16 code units, no spaces)."""
    if not isinstance(tx, Mapping):
        raise TransactionEncodingError("the transaction must be a mapping")
    plain = _plain(tx, "$", 0)
    try:
        return rfc8785.dumps(plain)
    except rfc8785.CanonicalizationError as exc:  # pragma: no cover - _plain refuses these first
        raise TransactionEncodingError(str(exc)) from exc


def transaction_digest(tx: Mapping[str, object]) -> bytes:
    """SHA-256 of :func:`canonical_transaction_bytes` (32 bytes)."""
    return hashlib.sha256(canonical_transaction_bytes(tx)).digest()
