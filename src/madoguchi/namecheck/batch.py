"""Columnar batch name check for forensic scans: codes in arrays, objects only on request.

``check_batch(residents, accounts)`` gives, for every pair, exactly what ``check`` gives
(outcome, reason, score), as NumPy arrays. How it stays cheap per pair:

1. Each raw string gets an integer id in one pass (one dict shared by both columns, so equal
   raw strings on both sides share an id and "identical inputs" is an integer comparison).
2. Each *distinct* raw name is normalised once; each distinct normalised form gets an id and
   a row of attributes (key, reversed key, unfolded and spaced forms as ids, entity, script).
3. The early steps of the decision (no account name, empty resident name, equal after
   normalisation, scripts that cannot be compared, swapped word order) are array comparisons
   over all pairs.
4. The pairs left (typos, family members, other people, legal entities, rotations) are
   reduced to distinct pairs of normalised forms, scored in bulk by
   ``rapidfuzz.process.cpdist`` (the same ``fuzz.ratio``), and decided by the same Python
   procedure as ``check`` (``_decide``), once per distinct pair.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from operator import itemgetter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rapidfuzz.fuzz import ratio
from rapidfuzz.process import cpdist

from madoguchi.namecheck.check import (
    CLOSE_THRESHOLD,
    MATCH_THRESHOLD,
    NameCheckResult,
    _decide,
    _display,
    _kana_spelling_only,
    _make,
    _nested,
    _word_swap,
)
from madoguchi.namecheck.normalise import (
    _MAIN,
    _PRE_NFKC,
    KANA,
    KANJI,
    LATIN,
    Normalised,
    _analyse_translated,
    _nfkc,
)
from madoguchi.namecheck.reasons import Outcome, Reason

__all__ = ["OUTCOME_CODES", "REASON_CODES", "BatchResult", "check_batch"]

OUTCOME_CODES: Final[tuple[Outcome, ...]] = tuple(Outcome)
"""``BatchResult.outcome_codes[i]`` is an index into this tuple."""
REASON_CODES: Final[tuple[Reason, ...]] = tuple(Reason)
"""``BatchResult.reason_codes[i]`` is an index into this tuple."""

_O = {o: np.uint8(i) for i, o in enumerate(OUTCOME_CODES)}
_R = {r: np.uint8(i) for i, r in enumerate(REASON_CODES)}

Codes = npt.NDArray[np.uint8]
Scores = npt.NDArray[np.float64]
Ids = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Results of ``check_batch``, one row per input pair, in input order.

    ``outcome_codes`` and ``reason_codes`` index ``OUTCOME_CODES`` and ``REASON_CODES``;
    ``scores`` are the scores ``check`` gives. ``result(i)`` builds the full
    ``NameCheckResult`` of pair ``i`` (with the normalised forms and, for a close match, the
    account name to show).
    """

    outcome_codes: Codes
    reason_codes: Codes
    scores: Scores
    residents: Sequence[str]
    accounts: Sequence[str | None]
    resident_forms: Ids
    """Index into ``forms`` of each pair's normalised resident name."""
    account_forms: Ids
    """Index into ``forms`` of each pair's normalised account name."""
    forms: Sequence[Normalised]
    """The distinct normalised names of the batch."""
    raw_ids: Ids = field(repr=False)
    """Ids of the raw strings, residents then accounts (equal strings share an id)."""

    def __len__(self) -> int:
        return len(self.outcome_codes)

    def outcome(self, i: int) -> Outcome:
        return OUTCOME_CODES[int(self.outcome_codes[i])]

    def reason(self, i: int) -> Reason:
        return REASON_CODES[int(self.reason_codes[i])]

    def score(self, i: int) -> float:
        return float(self.scores[i])

    def result(self, i: int) -> NameCheckResult:
        """The ``NameCheckResult`` of pair ``i``, equal to ``check(residents[i], accounts[i])``."""
        outcome = OUTCOME_CODES[self.outcome_codes[i]]
        return _make(
            outcome,
            REASON_CODES[self.reason_codes[i]],
            float(self.scores[i]),
            self.forms[self.resident_forms[i]].text,
            self.forms[self.account_forms[i]].text,
            _display(outcome, self.accounts[i]),
        )

    def __iter__(self) -> Iterator[NameCheckResult]:
        return (self.result(i) for i in range(len(self)))

    def results(self) -> list[NameCheckResult]:
        """Every pair's ``NameCheckResult``; pairs with the same raw names share one object."""
        n = len(self)
        if n == 0:
            return []
        ids = self.raw_ids
        combined = ids[:n] * (2 * n) + ids[n:]
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        shared = [self.result(int(i)) for i in first]
        return list(map(shared.__getitem__, inverse.tolist()))

    def counts(self) -> dict[Outcome, int]:
        """How many pairs got each outcome."""
        tally = np.bincount(self.outcome_codes, minlength=len(OUTCOME_CODES))
        return {o: int(tally[i]) for i, o in enumerate(OUTCOME_CODES)}

    def indices(self, outcome: Outcome) -> npt.NDArray[np.intp]:
        """Positions of the pairs with ``outcome`` (e.g. every no-match in a scan)."""
        return np.flatnonzero(self.outcome_codes == _O[outcome])


def _raw_ids(
    residents: Sequence[str], accounts: Sequence[str | None]
) -> tuple[Ids, list[str | None], Ids]:
    """Ids of the raw strings of both columns (residents then accounts, one array of 2n).

    An id is the position of the string's first occurrence in residents + accounts, so equal
    strings share an id on either side. Also returns the distinct strings and their ids.
    """
    n = len(residents)
    first: dict[str | None, int] = {}
    ids = np.empty(2 * n, dtype=np.int64)
    ids[:n] = np.fromiter(map(first.setdefault, residents, count()), np.int64, n)
    ids[n:] = np.fromiter(map(first.setdefault, accounts, count(n)), np.int64, n)
    return ids, list(first), np.fromiter(first.values(), np.int64, len(first))


def _analyse_names(names: Iterable[str | None]) -> Iterator[Normalised]:
    """``analyse`` of each name, exactly, with the first steps (NFKC and the translation
    table) done once per distinct word instead of once per name: names repeat their words
    (ヤマダ in ヤマダ タロウ and ヤマダ ハナコ).

    Exact because both steps work across a space unchanged: the translation is character
    by character, and NFKC neither reorders nor composes across U+0020 (a starter that no
    canonical composition has as either part); U+3000 becomes U+0020 under NFKC. (``_nfkc``
    is NFKC keeping the CJK compatibility ideographs, exact across them for the same reason.)
    """
    words: dict[str, str] = {}
    for raw in names:
        s = raw if isinstance(raw, str) else ""
        if "\u309b" in s or "\u309c" in s:
            s = s.translate(_PRE_NFKC)
        out = []
        for word in s.replace("\u3000", " ").split(" "):
            done = words.get(word)
            if done is None:
                done = words[word] = _nfkc(word).translate(_MAIN)
            out.append(done)
        yield _analyse_translated(" ".join(out))


def _cannot_compare(a: Ids, b: Ids) -> Flags:
    """Vectorised ``_scripts_incomparable``."""
    kanji_differs: Flags = ((a ^ b) & KANJI) != 0
    nothing_shared: Flags = (a & b & (KANA | LATIN | KANJI)) == 0
    return kanji_differs | nothing_shared


def check_batch(residents: Sequence[str], accounts: Sequence[str | None]) -> BatchResult:
    """Check ``residents[i]`` against ``accounts[i]`` for every ``i``, for forensic scans.

    The same outcome, reason and score as ``check`` for every pair, returned as arrays
    (``BatchResult``); build ``NameCheckResult`` objects only for the pairs you need with
    ``result(i)``. ``accounts[i]`` is ``None`` (or blank) when the provider gave no name.
    """
    if len(accounts) != len(residents):
        raise ValueError(
            f"check_batch needs one account name per resident: got {len(residents)} residents "
            f"and {len(accounts)} account names."
        )
    # Everything allocated here is acyclic; pausing the cyclic collector spares its passes
    # over the caller's heap (a scan holds millions of strings) while names are normalised.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _check_batch(residents, accounts)
    finally:
        if collecting:
            gc.enable()


def _check_batch(residents: Sequence[str], accounts: Sequence[str | None]) -> BatchResult:
    n = len(residents)
    ids, names, name_ids = _raw_ids(residents, accounts)

    # Normalise each distinct raw name once (the memo of ``analyse`` is bypassed: the names
    # are distinct already); number the distinct normalised forms.
    form_of: dict[Normalised, int] = {}
    name_forms = np.fromiter(
        (form_of.setdefault(f, len(form_of)) for f in _analyse_names(names)),
        np.int64,
        len(names),
    )
    forms = list(form_of)
    form_at = np.empty(2 * n, dtype=np.int64)
    form_at[name_ids] = name_forms
    fa = form_at[ids[:n]]
    fb = form_at[ids[n:]]
    same_raw: Flags = ids[:n] == ids[n:]
    at = _Attributes(forms)

    # Most pairs are one ordinary name (not empty, not a company) written in two ways that
    # normalise to the same form: step 4 of _decide, EXACT or EXACT_AFTER_NORMALISATION.
    same_form = (fa == fb) & at.plain[fa]
    outcome = np.where(same_form, _O[Outcome.MATCH], _O[Outcome.NO_MATCH])
    reason = np.where(same_raw, _R[Reason.EXACT], _R[Reason.EXACT_AFTER_NORMALISATION])
    scores = np.where(same_form, 100.0, 0.0)
    # The others, in the order of _decide: equal keys of different forms (step 4: raw inputs
    # differ, as the forms do), scripts that cannot be compared (5), the swapped word order
    # (6); what is left goes on to _decide_rest.
    others = np.flatnonzero(~same_form)
    oa, ob = fa[others], fb[others]
    ordinary = at.plain[oa] & at.plain[ob]
    equal = ordinary & (at.key[oa] == at.key[ob])
    # The same kana as other words, both names spaced, each with a word boundary the other
    # lacks (モリ タカコ, ﾓﾘﾀ ｶｺ; not スミス ジヨーンズ アンナ, スミスジヨーンズ アンナ):
    # _split_elsewhere, its boundaries compared in Python for the few pairs of other words.
    split = equal & (at.parts[oa] > 1) & (at.parts[ob] > 1) & (at.text[oa] != at.text[ob])
    split[split] = _pairwise(forms, oa[split], ob[split], _not_nested)
    idx = others[split]
    outcome[idx] = _O[Outcome.CLOSE]
    reason[idx] = _R[Reason.SPLIT_DIFFERS]
    scores[idx] = 100.0
    equal &= ~split
    idx = others[equal]
    outcome[idx] = _O[Outcome.MATCH]
    scores[idx] = 100.0
    ea, eb = fa[idx], fb[idx]
    reason[idx] = np.where(
        at.unfolded[ea] != at.unfolded[eb],
        _R[Reason.SMALL_KANA_FOLDED],
        np.where(
            at.text[ea] == at.text[eb],
            _R[Reason.EXACT_AFTER_NORMALISATION],
            _R[Reason.SEPARATOR_DIFFERS],
        ),
    )
    ordinary &= ~(equal | split)
    mismatch = ordinary & _cannot_compare(at.script[oa], at.script[ob])
    # _word_swap: the words in the other order (a match), or the same kana in the other order
    # but not as the same words (close, SPLIT_DIFFERS; a rotation of one unspaced word against
    # another goes to _decide, marked by _unusual).
    turned_a = at.rkey[oa] == at.key[ob]
    turned_b = at.rkey[ob] == at.key[oa]
    words_a = turned_a & ((at.parts[ob] == 1) | (at.rtext[oa] == at.text[ob]))
    words_b = turned_b & ((at.parts[oa] == 1) | (at.rtext[ob] == at.text[oa]))
    turned = ordinary & ~mismatch & (turned_a | turned_b)
    swapped = turned & (words_a | words_b)
    # Not the same words: a swap still if the boundaries of the one turned and of the other
    # are nested (some words joined on one side), decided by _word_swap for these few pairs.
    other_words = turned & ~swapped
    swapped[other_words] = _pairwise(forms, oa[other_words], ob[other_words], _word_swap)
    misturned = turned & ~swapped
    idx = others[mismatch]
    outcome[idx] = _O[Outcome.CLOSE]
    reason[idx] = _R[Reason.SCRIPT_MISMATCH]
    idx = others[swapped]
    outcome[idx] = _O[Outcome.MATCH]
    reason[idx] = _R[Reason.ORDER_SWAPPED]
    scores[idx] = 100.0
    idx = others[misturned]
    outcome[idx] = _O[Outcome.CLOSE]
    reason[idx] = _R[Reason.SPLIT_DIFFERS]
    scores[idx] = 100.0
    rest = others[~(equal | split | mismatch | turned)]
    if len(rest):
        _decide_rest(rest, fa, fb, same_raw, forms, at, outcome, reason, scores)
    return BatchResult(
        outcome_codes=outcome,
        reason_codes=reason,
        scores=scores,
        residents=residents,
        accounts=accounts,
        resident_forms=fa,
        account_forms=fb,
        forms=forms,
        raw_ids=ids,
    )


def _not_nested(a: Normalised, b: Normalised) -> bool:
    return not _nested(a.tokens, b.tokens)


def _pairwise(
    forms: Sequence[Normalised], a: Ids, b: Ids, test: Callable[[Normalised, Normalised], Any]
) -> Flags:
    """``bool(test(forms[a[i]], forms[b[i]]))`` for each i, once per distinct pair of forms."""
    done: dict[tuple[int, int], bool] = {}
    out = np.empty(len(a), dtype=np.bool_)
    for i, pair in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        answer = done.get(pair)
        if answer is None:
            answer = done[pair] = bool(test(forms[pair[0]], forms[pair[1]]))
        out[i] = answer
    return out


class _Attributes:
    """Columns describing each distinct normalised form; strings become ids in one numbering
    (so equal strings in different roles, such as one form's key and another's reversed key,
    get equal ids)."""

    def __init__(self, forms: Sequence[Normalised]) -> None:
        string_id: dict[str, int] = {}
        numbers = count()  # ids are first-seen positions, unique across all the columns
        m = len(forms)

        def ids(strings: Iterable[str]) -> Ids:
            return np.fromiter(map(string_id.setdefault, strings, numbers), np.int64, m)

        def column(name: str) -> Iterator[Any]:
            return map(itemgetter(Normalised._fields.index(name)), forms)

        self.key = ids(column("key"))
        self.rkey = ids(column("rkey"))
        self.unfolded = ids(column("unfolded"))
        self.text = ids(column("text"))
        self.rtext = ids(" ".join((*t[1:], t[0])) if t else "" for t in column("tokens"))
        """The words in the other order (the first moved to the end), spaced as ``text``."""
        self.script: Ids = np.fromiter(column("script"), np.int64, m)
        self.length: Ids = np.fromiter(map(len, column("key")), np.int64, m)
        self.parts: Ids = np.fromiter(map(len, column("tokens")), np.int64, m)
        self.entity: Flags = np.fromiter(column("entity"), np.bool_, m)
        self.v: Flags = np.fromiter(("ヴ" in k for k in column("key")), np.bool_, m)
        """Written with ヴ (`V_SPELLING` is decided by _decide itself)."""
        self.hyphen: Flags = np.fromiter(
            (h is not None for h in column("hyphens_as_spaces")), np.bool_, m
        )
        """With a hyphen between two kana (read as a space by _decide where it may be one)."""
        self.plain: Flags = (self.key != string_id.get("", -1)) & ~self.entity
        """Not empty and not a legal entity: the first three steps of _decide do not apply."""


def _parts(forms: Sequence[Normalised], used: Ids) -> tuple[Ids, Ids]:
    """Ids of the family and given part ("A B": the text before and after its one space) of
    the two-part forms in ``used``; -1 and -2 for the others, which are never compared."""
    wanted = np.unique(used).tolist()
    halves = [forms[i].text.partition(" ") for i in wanted]
    string_id: dict[str, int] = {}
    numbers = count()
    first = np.full(len(forms), -1, dtype=np.int64)
    second = np.full(len(forms), -2, dtype=np.int64)
    k = len(wanted)
    first[wanted] = np.fromiter(
        map(string_id.setdefault, map(itemgetter(0), halves), numbers), np.int64, k
    )
    second[wanted] = np.fromiter(
        map(string_id.setdefault, map(itemgetter(2), halves), numbers), np.int64, k
    )
    return first, second


def _decide_rest(
    rest: npt.NDArray[np.intp],
    fa: Ids,
    fb: Ids,
    same_raw: Flags,
    forms: list[Normalised],
    at: _Attributes,
    outcome: Codes,
    reason: Codes,
    scores: Scores,
) -> None:
    """Decide the pairs the first array steps left, once per distinct pair of forms: scores
    in bulk, the later steps of ``_decide`` as array steps too where the names have the usual
    shape, and ``_decide`` itself for the unusual ones (rotations, kanji, one part against
    two)."""
    pairs = _DistinctPairs.of(rest, fa, fb, same_raw, len(forms))
    key_score, best = _scores(forms, pairs)
    decisions = _Decisions.start(best)
    unusual = _unusual(pairs, at)
    by_python = np.flatnonzero(decisions.left & unusual)
    decisions.left &= ~unusual
    # Same order as _decide from the variant-kanji step on.
    family_equal, given_equal = _parts_equal(forms, pairs, at)
    close_enough = best >= CLOSE_THRESHOLD
    by_score = np.where(close_enough, _O[Outcome.CLOSE], _O[Outcome.NO_MATCH]).astype(np.uint8)
    decisions.decide(family_equal, by_score, _R[Reason.GIVEN_NAME_DIFFERS], best)
    decisions.decide(given_equal, by_score, _R[Reason.FAMILY_NAME_DIFFERS], best)
    decisions.decide(best >= MATCH_THRESHOLD, _O[Outcome.MATCH], _R[Reason.MINOR_TYPO], best)
    decisions.decide(close_enough, _O[Outcome.CLOSE], _R[Reason.MINOR_TYPO], best)
    # What is left keeps no_match / DIFFERENT / best score, unless, as _decide's last step, the
    # names differ only in the kana spelling of one sound (close, KANA_SPELLING, for a pair
    # blocked or close by the steps above): a spelling keeps a name's length, so only pairs
    # not matched of one length are looked at (few: most names match).
    unmatched = ~unusual & (decisions.outcome != _O[Outcome.MATCH])
    unmatched &= at.length[pairs.a] == at.length[pairs.b]
    candidates = np.flatnonzero(unmatched)
    alike = _sounds_alike(forms, pairs.a[candidates], pairs.b[candidates], at.length)
    for pair in candidates[alike].tolist():
        if _kana_spelling_only(forms[pairs.a_list[pair]], forms[pairs.b_list[pair]]):
            decisions.set_one(
                pair, Outcome.CLOSE, Reason.KANA_SPELLING, float(decisions.score[pair])
            )
    for pair, k_score, b_score in zip(
        by_python.tolist(), key_score[by_python].tolist(), best[by_python].tolist(), strict=True
    ):
        decided = _decide(
            forms[pairs.a_list[pair]],
            forms[pairs.b_list[pair]],
            bool(pairs.same[pair]),
            k_score,
            b_score,
        )
        decisions.set_one(pair, *decided)
    outcome[rest] = decisions.outcome[pairs.inverse]
    reason[rest] = decisions.reason[pairs.inverse]
    scores[rest] = decisions.score[pairs.inverse]


# Blanked out by _sounds_alike: the kana a spelling of one sound may write differently.
_VOWELS = np.array([ord(c) for c in "アイウエオヲヰヱー"], dtype=np.uint32)


def _sounds_alike(forms: list[Normalised], a: Ids, b: Ids, length: Ids) -> Flags:
    """For pairs of forms whose keys have one length: whether the keys (or one's key and the
    other's in the other word order) are equal with their vowels and long-vowel marks blanked
    out and ヂ ヅ written ジ ズ, as any two spellings of one sound are
    (``check._kana_spelling_only`` decides the few that are). In arrays of code points, one
    per length (so one long name costs its own length only)."""
    alike = np.zeros(len(a), dtype=np.bool_)
    lengths = length[a]
    for n in np.unique(lengths).tolist():
        these = np.flatnonzero(lengths == n)
        used, inverse = np.unique(np.concatenate((a[these], b[these])), return_inverse=True)
        keys = _blanked([forms[i].key for i in used.tolist()], n)
        rkeys = _blanked([forms[i].rkey for i in used.tolist()], n)
        ia, ib = inverse[: len(these)], inverse[len(these) :]
        alike[these] = (
            (keys[ia] == keys[ib]).all(axis=1)
            | (rkeys[ia] == keys[ib]).all(axis=1)
            | (keys[ia] == rkeys[ib]).all(axis=1)
        )
    return alike


def _blanked(strings: list[str], n: int) -> npt.NDArray[np.uint32]:
    """The code points of strings of length ``n``, one row each, blanked as _sounds_alike says."""
    codes = np.array(strings, dtype=f"<U{n}").view(np.uint32).reshape(len(strings), n).copy()
    codes[np.isin(codes, _VOWELS)] = 0
    codes[codes == ord("ヂ")] = ord("ジ")
    codes[codes == ord("ヅ")] = ord("ズ")
    return codes


@dataclass
class _DistinctPairs:
    """The distinct (resident form, account form, identical raw input) triples of a batch."""

    a: Ids  # form index of the resident's name
    b: Ids  # form index of the account's name
    same: Flags  # the raw inputs are identical (only EXACT depends on it)
    inverse: npt.NDArray[np.intp]  # each input pair's distinct pair
    a_list: list[int]
    b_list: list[int]

    @classmethod
    def of(
        cls, rest: npt.NDArray[np.intp], fa: Ids, fb: Ids, same_raw: Flags, forms: int
    ) -> _DistinctPairs:
        # Identical raw inputs are told apart: companies and empty names equal to themselves.
        code = (fa[rest] * forms + fb[rest]) * 2 + same_raw[rest]
        distinct, inverse = np.unique(code, return_inverse=True)
        a = distinct // 2 // forms
        b = distinct // 2 % forms
        return cls(a, b, (distinct % 2).astype(np.bool_), inverse, a.tolist(), b.tolist())


def _scores(forms: list[Normalised], pairs: _DistinctPairs) -> tuple[Scores, Scores]:
    """The key score of each distinct pair, and the best of it and the rotated keys' scores."""
    keys = [f.key for f in forms]
    rkeys = [f.rkey for f in forms]
    a_keys = [keys[i] for i in pairs.a_list]
    b_keys = [keys[i] for i in pairs.b_list]
    a_rkeys = [rkeys[i] for i in pairs.a_list]
    b_rkeys = [rkeys[i] for i in pairs.b_list]
    key_score = cpdist(a_keys, b_keys, scorer=ratio, dtype=np.float64, workers=-1)
    best = np.maximum(
        key_score,
        np.maximum(
            cpdist(a_rkeys, b_keys, scorer=ratio, dtype=np.float64, workers=-1),
            cpdist(a_keys, b_rkeys, scorer=ratio, dtype=np.float64, workers=-1),
        ),
    )
    return key_score, best


@dataclass
class _Decisions:
    """Outcome, reason and score per distinct pair; `left` marks the pairs still undecided."""

    outcome: Codes
    reason: Codes
    score: Scores
    left: Flags

    @classmethod
    def start(cls, best: Scores) -> _Decisions:
        k = len(best)
        return cls(
            np.full(k, _O[Outcome.NO_MATCH], dtype=np.uint8),
            np.full(k, _R[Reason.DIFFERENT], dtype=np.uint8),
            best.copy(),
            np.ones(k, dtype=np.bool_),
        )

    def decide(
        self, mask: Flags, outcome: np.uint8 | Codes, reason: np.uint8 | Codes, score: Scores
    ) -> None:
        """Decide the undecided pairs of `mask`."""
        mask = self.left & mask
        self.outcome[mask] = outcome if isinstance(outcome, np.uint8) else outcome[mask]
        self.reason[mask] = reason if isinstance(reason, np.uint8) else reason[mask]
        self.score[mask] = score[mask]
        self.left[mask] = False

    def set_one(self, pair: int, outcome: Outcome, reason: Reason, score: float) -> None:
        self.outcome[pair] = _O[outcome]
        self.reason[pair] = _R[reason]
        self.score[pair] = score


def _unusual(pairs: _DistinctPairs, at: _Attributes) -> Flags:
    """Pairs that take _decide's steps from the start: not ordinary names (no account name,
    an empty resident name, a company), a possible rotation, variant kanji, ヴ or a hyphen
    between two kana on either side, one part against two, or names of two parts or more with
    different numbers of parts."""
    a, b = pairs.a, pairs.b
    pa, pb = at.parts[a], at.parts[b]
    return (  # type: ignore[no-any-return]
        pairs.same
        | ~at.plain[a]
        | ~at.plain[b]
        # a rotation (ORDER_SWAPPED) is possible
        | ((pa == 1) & (pb == 1) & (at.length[a] == at.length[b]) & (at.length[a] >= 4))
        # variant kanji
        | ((at.script[a] & KANJI) != 0)
        # ヴ written as ブ
        | at.v[a]
        | at.v[b]
        # a hyphen between two kana that may be a separator
        | at.hyphen[a]
        | at.hyphen[b]
        # a part found at the start or end of an unspaced name
        | ((pa == 1) & (pb == 2))
        | ((pa == 2) & (pb == 1))
        # words left out of a longer name (NAME_PART_OMITTED)
        | ((pa >= 2) & (pb >= 2) & (pa != pb))
    )


def _parts_equal(
    forms: list[Normalised], pairs: _DistinctPairs, at: _Attributes
) -> tuple[Flags, Flags]:
    """For names of two parts each side: is the family part equal, is the given part equal,
    under the better word order (the account's order, family first, names the parts, as in
    check._parts_equal)."""
    a, b = pairs.a, pairs.b
    two = (at.parts[a] == 2) & (at.parts[b] == 2)
    first, second = _parts(forms, np.concatenate((a[two], b[two])))
    d_first = first[a] == first[b]
    d_second = second[a] == second[b]
    s_first = first[a] == second[b]
    s_second = second[a] == first[b]
    direct = d_first.astype(np.int8) + d_second >= s_first.astype(np.int8) + s_second
    return two & np.where(direct, d_first, s_second), two & np.where(direct, d_second, s_first)
