"""Synthetic national link data with ground truth: ``madoguchi scan generate``.

Vectorised (NumPy and Arrow, no Python loop per link), so 10M links take about a minute.
Names come from the name check's generator (``madoguchi.namecheck.bench``: Zipf-distributed
common readings, Zengin-style half-width holder names).

What it writes (docs/scan.md): residents in households (shared family name, one
municipality), desk terminals and staff per municipality, four two-hour staff sessions a day per
terminal (login, up to eight visits of card read, commits, card removal, logout), and
self-service links. Holder names are the resident's own in Zengin style (93%), in the other word
order (1%), with a dropped kana (1%), in full-width katakana (2%) or unknown (3%). Then it
injects mis-links in the national mix (logout omission : typed wrong ID : lent terminal : wrong
card = 136 : 32 : 2 : 2, ``rate`` of all links) and family accounts (``family_rate``), and
writes the truth to ``truth.parquet`` (``link_id``, ``cause``) beside the three tables.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from madoguchi.municipality import check_digit
from madoguchi.namecheck import check_batch
from madoguchi.namecheck.bench import FAMILY, GIVEN
from madoguchi.scan import MAX_LINKS, SEED_MOST, namematch, schema

__all__ = ["CAUSE_MIX", "Generated", "generate", "mix"]

CAUSE_MIX = {"logout_omission": 136, "typed_wrong_id": 32, "lent_terminal": 2, "wrong_card": 2}
"""The 2023 national figures for MyNaPoint mis-links (172 cases), by cause."""

Ints = npt.NDArray[np.int64]

_BASE = int(
    datetime(2022, 6, 30, tzinfo=UTC).timestamp()
)  # MyNaPoint phase 2: linking from 30 June 2022
_SEG_VISITS = 8
_VISIT_S = 12 * 60
_SEG_S = 2 * 3600
_SEGS_PER_DAY = 4

_KANJI_FAMILY = dict(
    zip(
        FAMILY[:20],
        [
            "佐藤",
            "鈴木",
            "高橋",
            "田中",
            "伊藤",
            "渡辺",
            "山本",
            "中村",
            "小林",
            "加藤",
            "吉田",
            "山田",
            "佐々木",
            "山口",
            "松本",
            "井上",
            "木村",
            "林",
            "斎藤",
            "清水",
        ],
        strict=True,
    )
)
_KANJI_GIVEN = {
    "ヒロシ": "博",
    "タロウ": "太郎",
    "ハナコ": "花子",
    "イチロウ": "一郎",
    "ジロウ": "次郎",
    "アキラ": "明",
    "マコト": "誠",
    "ユウコ": "裕子",
    "ケイコ": "恵子",
    "ヨウコ": "洋子",
}
_MUNICIPALITIES = ["131016", "131024", "141003", "271004", "011002", "231002", "401307", "261009"]


@dataclass(frozen=True)
class Generated:
    links: int
    residents: int
    events: int
    truth: dict[str, int]


def mix(n_misl: int) -> dict[str, int]:
    """Split ``n_misl`` mis-links by the national mix (largest remainder; each cause at least once
    when there are four or more)."""
    total = sum(CAUSE_MIX.values())
    exact = {k: n_misl * v / total for k, v in CAUSE_MIX.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[
        : n_misl - sum(out.values())
    ]:
        out[k] += 1
    if n_misl >= len(CAUSE_MIX):
        for k in out:
            if out[k] == 0:
                out[k] = 1
                out["logout_omission"] -= 1
    return out


_SMALL = str.maketrans("ァィゥェォッャュョ", "アイウエオツヤユヨ")
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}


def _half(kana: str) -> str:
    """Zengin style: half-width katakana, small kana large, voiced marks separate."""
    out = []
    for ch in unicodedata.normalize("NFD", kana.translate(_SMALL)):
        out.append({"\u3099": "ﾞ", "\u309a": "ﾟ"}.get(ch, _HALF.get(ch, ch)))
    return "".join(out)


def _zipf(rng: np.random.Generator, n_pool: int, k: int) -> Ints:
    weights = 1 / (np.arange(n_pool) + 1) ** 0.9
    return rng.choice(n_pool, size=k, p=weights / weights.sum()).astype(np.int64)


def _ids(prefix: str, numbers: Ints, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _hex(values: npt.NDArray[np.uint64]) -> pa.Array:
    """Each value as a stand-in for a keyed hash in the form the input takes
    (``schema.ACCOUNT_HASH``: 64 hexadecimal digits in lower case, as HMAC-SHA256's): the
    value and three 64-bit mixes of it, 16 digits each."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    words = [values, *(_mixbits(values ^ np.uint64(salt)) for salt in _HEX_SALTS)]
    nibbles = np.concatenate(
        [((w[:, None] >> shifts) & np.uint64(0xF)).astype(np.uint8) for w in words], axis=1
    )
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return pa.array(np.ascontiguousarray(chars).view("S64").ravel()).cast(pa.string())


_HEX_SALTS = (0x9E3779B97F4A7C15, 0x3C6EF372FE94F82A, 0xDAA66D2C7DDF743F)
"""The mixes of the value giving ``_hex``'s last 48 digits; its first 16 are the value's own
(what the generator wrote alone until the forty-fourth session, its first digit then made a
letter so that no hash was digits alone)."""


def _mixbits(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: a stand-in for the keyed account-number hash."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _take(pool: pa.Array, index: Ints, valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """``pool[index]`` in Arrow (no Python object per row); null where ``valid`` is False."""
    mask = None if valid is None else ~valid
    return pool.take(pa.array(np.where(valid, index, 0) if valid is not None else index, mask=mask))


def _not_strangers(
    pools: dict[str, pa.Array], holders: Ints, residents: Ints
) -> npt.NDArray[np.bool_]:
    """Whether the holder name (in Zengin style, as a typed wrong ID's account carries it) of
    each ``holders`` reading matches or is close to the ``residents`` reading, by the scan's
    own name check."""
    if not len(holders):
        return np.zeros(0, dtype=bool)
    names = _take(pools["holder"], holders).to_pylist()
    readings = _take(pools["kana"], residents).to_pylist()
    return np.asarray(check_batch(readings, names).outcome_codes != namematch.NO_MATCH)


def _distinct_in_household(household: Ints, giv: Ints) -> Ints:
    """The given names ``giv`` with no two members of one household (``household``, sorted)
    given the same: a later namesake moves on to the next name until none is. A household
    shares its family name, so two members of one given name would be two residents of one
    reading (two サトウ ヒロシ), which a household register does not hold (a child is not
    registered under a name a member of the same register bears) and which no name check tells
    apart: a family account into such a member's account matches the resident's own name and
    was left unreported (about 5% of them, docs/scan.md). No random draw: the rest of the data
    is drawn as before."""
    giv = giv.copy()
    for _ in range(_NG):
        key = household * _NG + giv
        order = np.argsort(key, kind="stable")
        dup = np.zeros(len(giv), dtype=bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            break
        giv[dup] = (giv[dup] + 1) % _NG
    return giv


BLOCK_LINKS = 250_000
"""Links per generated block. Each block (its residents, households, branch offices with their
terminals and staff, links, desk events and injected cases) is drawn from its own random
stream (``seed``, block number) and written as one Parquet row group, so memory is bounded by
one block whatever the total, and the same seed and link count give the same files."""


@dataclass(frozen=True)
class _Plan:
    """What is fixed for the whole run: sizes, the injected counts and the name pools."""

    links: int
    seed: int
    self_share: float
    bounds: list[int]
    counts: dict[str, int]
    n_family: int
    munis: list[str]
    res_width: int
    link_width: int
    perm_a: int
    perm_c: int

    def share(self, total: int, block: int) -> int:
        """Block ``block``'s part of ``total`` (proportional to its links; the parts sum up)."""
        lo, hi = self.bounds[block], self.bounds[block + 1]
        return total * hi // self.links - total * lo // self.links

    def link_numbers(self, first: int, n: int) -> Ints:
        """Link numbers of links ``first .. first + n``: an affine permutation of 0..links-1,
        so link IDs do not give away the order (injected cases come last in each block)."""
        i = np.arange(first, first + n, dtype=np.int64)
        return (i * self.perm_a + self.perm_c) % self.links


_NF, _NG = len(FAMILY), len(GIVEN)
_POOLS: dict[str, pa.Array] = {}


def _pools() -> dict[str, pa.Array]:
    """Every (family, given) name as Arrow strings, indexed ``family * len(GIVEN) + given``."""
    if not _POOLS:
        fam_half = [_half(x) for x in FAMILY]
        giv_half = [_half(x) for x in GIVEN]
        giv_typo = [_half(g[: len(g) // 2] + g[len(g) // 2 + 1 :]) for g in GIVEN]
        fam_kanji = [_KANJI_FAMILY.get(x, x) for x in FAMILY]
        giv_kanji = [_KANJI_GIVEN.get(x, x) for x in GIVEN]
        pairs = [(f, g) for f in range(_NF) for g in range(_NG)]
        _POOLS["kana"] = pa.array([f"{FAMILY[f]} {GIVEN[g]}" for f, g in pairs])
        _POOLS["kanji"] = pa.array([f"{fam_kanji[f]} {giv_kanji[g]}" for f, g in pairs])
        # Holder styles 0..3: Zengin, other word order, a dropped kana, full-width katakana.
        _POOLS["holder"] = pa.array(
            [f"{fam_half[f]} {giv_half[g]}" for f, g in pairs]
            + [f"{giv_half[g]} {fam_half[f]}" for f, g in pairs]
            + [f"{fam_half[f]} {giv_typo[g]}" for f, g in pairs]
            + [f"{FAMILY[f]}\u3000{GIVEN[g]}" for f, g in pairs]
        )
        _POOLS["programme"] = pa.array(list(schema.PROGRAMMES))
        _POOLS["channel"] = pa.array(["self", "desk"])
        _POOLS["event"] = pa.array(["login", "logout", "card_read", "card_removed", "commit"])
    return _POOLS


def _plan(
    links: int, seed: int, rate: float, family_rate: float, self_share: float, block_links: int
) -> _Plan:
    n_blocks = max(1, links // block_links)
    n_muni = max(2, min(200, links // 25_000))
    # Past the eight real ones, made-up codes that carry their check digit as real ones do.
    made_up = [f"{20 + i // 900:02d}{100 + i % 900:03d}" for i in range(n_muni)]
    munis = (_MUNICIPALITIES + [five + check_digit(five) for five in made_up])[:n_muni]
    a = int(links * 0.6180339887) | 1
    while np.gcd(a, links) != 1:
        a += 2
    return _Plan(
        links=links,
        seed=seed,
        self_share=self_share,
        bounds=[links * u // n_blocks for u in range(n_blocks + 1)],
        counts=mix(round(links * rate)),
        n_family=round(links * family_rate),
        munis=munis,
        res_width=max(8, len(str(links))),
        link_width=max(9, len(str(links))),
        perm_a=a % links,
        perm_c=(seed * 7919 + 13) % links,
    )


@dataclass
class _Offsets:
    """Where the block starts: residents and households written so far, lent-terminal cases."""

    residents: int = 0
    households: int = 0
    lent: int = 0


@dataclass(frozen=True)
class _Block:
    residents: pa.Table
    links: pa.Table
    desk_events: pa.Table
    truth: pa.Table


def _block(plan: _Plan, u: int, off: _Offsets) -> _Block:
    """Generate block ``u`` (all of it vectorised; sizes about ``BLOCK_LINKS``)."""
    rng = np.random.default_rng([plan.seed, u])
    pools = _pools()
    links = plan.bounds[u + 1] - plan.bounds[u]
    counts = {k: plan.share(v, u) for k, v in plan.counts.items()}
    n_extra = counts["logout_omission"] + counts["wrong_card"] + counts["lent_terminal"]
    n_base = links - n_extra
    munis = plan.munis
    n_muni = len(munis)

    # Residents in households.
    per_res = rng.choice([1, 2, 3], size=n_base, p=[0.6, 0.3, 0.1])
    n_res = int(np.searchsorted(np.cumsum(per_res), n_base) + 1)
    per_res = per_res[:n_res].astype(np.int64)
    per_res[-1] -= int(per_res.sum() - n_base)
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_res, p=[0.3, 0.3, 0.2, 0.15, 0.05]).astype(np.int64)
    n_hh = int(np.searchsorted(np.cumsum(sizes), n_res) + 1)
    household = np.repeat(np.arange(n_hh), sizes[:n_hh])[:n_res]
    hh_start = np.searchsorted(household, np.arange(n_hh))
    hh_size = np.bincount(household, minlength=n_hh)
    res_muni = rng.integers(0, n_muni, size=n_hh)[household]
    fam = _zipf(rng, _NF, n_hh)[household]
    giv = _distinct_in_household(household, _zipf(rng, _NG, n_res))
    name_ix = fam * _NG + giv
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, size=n_res)).astype(
        "datetime64[D]"
    )
    muni_pool = pa.array(munis)
    r0, h0 = off.residents, off.households

    def rid(local: Ints) -> pa.Array:
        return _ids("R", local + r0, plan.res_width)

    residents = pa.table(
        {
            "resident_id": rid(np.arange(n_res)),
            "name_kana": _take(pools["kana"], name_ix),
            "name_kanji": _take(pools["kanji"], name_ix),
            "birth_date": pa.array(birth),
            "household_id": _ids("H", household + h0, plan.res_width),
            "municipality_code": _take(muni_pool, res_muni),
        }
    )

    # Base links: each resident's links in one visit (desk) or online (self).
    link_res = np.repeat(np.arange(n_res), per_res)
    first = np.repeat(np.cumsum(per_res) - per_res, per_res)
    nth = np.arange(n_base) - first
    link_prog = (rng.integers(0, 3, size=n_res)[link_res] + nth) % 3
    desk_res = rng.random(n_res) >= plan.self_share
    link_desk = desk_res[link_res]

    # Desk visits: this block's branch office in each municipality, its terminals, sessions of
    # up to eight visits.
    visit_res = np.flatnonzero(desk_res & (per_res > 0))
    n_vis = len(visit_res)
    vmuni = res_muni[visit_res]
    per_muni = np.bincount(vmuni, minlength=n_muni)
    terms_m = np.maximum(1, -(-per_muni // 3000))
    staff_m = 2 * terms_m + 1
    term_off = np.cumsum(terms_m) - terms_m
    staff_off = np.cumsum(staff_m) - staff_m
    shuffled = rng.permutation(n_vis)
    order = shuffled[np.argsort(vmuni[shuffled], kind="stable")]
    visit_res = visit_res[order]
    vmuni = vmuni[order]
    pos = np.arange(n_vis) - np.searchsorted(vmuni, vmuni)
    vterm = term_off[vmuni] + pos % terms_m[vmuni]
    slot = pos // terms_m[vmuni]
    seg = slot // _SEG_VISITS
    seg_pos = slot % _SEG_VISITS
    seg_start = _BASE + (seg // _SEGS_PER_DAY) * 86400 + 9 * 3600 + (seg % _SEGS_PER_DAY) * _SEG_S
    vstart = seg_start + 120 + seg_pos * _VISIT_S
    # One staff member per session.
    seg_key = vterm * 1_000_000 + seg
    seg_keys, seg_of_visit = np.unique(seg_key, return_inverse=True)
    seg_term = seg_keys // 1_000_000
    seg_no = seg_keys % 1_000_000
    term_muni = np.repeat(np.arange(n_muni), terms_m)
    seg_muni = term_muni[seg_term]
    seg_staff = (
        staff_off[seg_muni] + rng.integers(0, 1 << 30, size=len(seg_keys)) % staff_m[seg_muni]
    )
    seg_t0 = (
        _BASE + (seg_no // _SEGS_PER_DAY) * 86400 + 9 * 3600 + (seg_no % _SEGS_PER_DAY) * _SEG_S
    )
    vstaff = seg_staff[seg_of_visit]
    # Sort visits by terminal and time: neighbours are adjacent.
    tord = np.lexsort((vstart, vterm))
    visit_res, vmuni, vterm, vstart, vstaff, seg_of_visit, seg_pos = (
        a[tord] for a in (visit_res, vmuni, vterm, vstart, vstaff, seg_of_visit, seg_pos)
    )
    visit_of_res = np.full(n_res, -1)
    visit_of_res[visit_res] = np.arange(n_vis)

    link_visit = visit_of_res[link_res]
    link_at = np.where(
        link_desk,
        vstart[np.maximum(link_visit, 0)] + 120 + 60 * nth,
        _BASE + rng.integers(0, 300 * 86400, size=n_base),
    )

    # Holder names and accounts of the base links (the account belongs to the holder).
    holder = link_res.copy()
    style = rng.random(n_base)
    # Injections that change a base link: typed wrong ID and family accounts.
    free = rng.permutation(n_base)
    tw = free[: counts["typed_wrong_id"]]
    rest = free[counts["typed_wrong_id"] :]
    multi = rest[hh_size[household[link_res[rest]]] >= 2]
    fa = multi[: plan.share(plan.n_family, u)]
    style[tw] = 0.0
    style[fa] = 0.0
    others = rng.integers(0, n_res, size=len(tw))
    clash = (household[others] == household[link_res[tw]]) | (
        (fam[others] == fam[link_res[tw]]) & (giv[others] == giv[link_res[tw]])
    )
    others[clash] = (others[clash] + n_res // 2 + 7) % n_res
    # The stranger's name must not match the resident's, not even closely: the issue defines a
    # typed wrong ID by the holder's name being no match, and a close one (サイトウ for サトウ,
    # one kana) is what a bank's own rendering of the resident's name gives, which the rules
    # rightly leave alone (the sweep in docs/scan.md found 11 such strangers in about 3,000).
    # Moved on by a fixed step until none is: no random draw, so the rest of the data is
    # drawn as before.
    for _ in range(8):
        near = _not_strangers(pools, name_ix[others], name_ix[link_res[tw]]) | (
            household[others] == household[link_res[tw]]
        )
        if not near.any():
            break
        others[near] = (others[near] + 7919) % n_res
    holder[tw] = others
    a = link_res[fa]
    hh = household[a]
    member = hh_start[hh] + (a - hh_start[hh] + 1 + rng.integers(0, 4, size=len(fa))) % hh_size[hh]
    member = np.where(member == a, hh_start[hh] + (a - hh_start[hh] + 1) % hh_size[hh], member)
    holder[fa] = member

    # Injections that add a link: logout omission, wrong card, lent terminal.
    # Candidate visits: a previous visit in the same session, of another household.
    has_prev = np.zeros(n_vis, dtype=bool)
    has_prev[1:] = (seg_of_visit[1:] == seg_of_visit[:-1]) & (
        household[visit_res[1:]] != household[visit_res[:-1]]
    )
    cands = rng.permutation(np.flatnonzero(has_prev))
    n_lo, n_wc, n_lt = counts["logout_omission"], counts["wrong_card"], counts["lent_terminal"]
    need = n_lo + n_wc
    # A logout omission needs two different readings: the rule (and the definition)
    # needs the holder to match the other resident and not A, and a namesake B's account
    # matches A's own name, which no scan by name can tell from A's own (a sweep of seeds and
    # sizes found every missed logout omission was such a pair: docs/scan.md, Figures).
    named_apart = name_ix[visit_res[cands]] != name_ix[visit_res[cands - 1]]
    lo_v = cands[named_apart][:n_lo]
    rest = cands[~np.isin(cands, lo_v)]
    # A wrong card needs two different family names: otherwise the holder (the other resident)
    # may match a member of the resident's household, and the case is a family account.
    wc_v = rest[fam[visit_res[rest]] != fam[visit_res[rest - 1]]][:n_wc]
    lt_v = rest[~np.isin(rest, wc_v)][:n_lt]
    if len(lo_v) < n_lo or len(wc_v) < n_wc or len(lt_v) < n_lt:
        raise ValueError(
            "too few desk visits for the requested rate; raise --links or lower --rate"
        )
    x_res = np.concatenate([visit_res[lo_v - 1], visit_res[wc_v - 1], visit_res[lt_v]])
    x_holder = np.concatenate(
        [visit_res[lo_v], visit_res[wc_v], rng.integers(0, n_res, size=len(lt_v))]
    )
    lt_clash = household[x_holder[need:]] == household[x_res[need:]]
    x_holder[need:][lt_clash] = (x_holder[need:][lt_clash] + n_res // 3 + 1) % n_res
    # Every other lent-terminal case (counted over the whole run): no one signed in.
    lt_out = (off.lent + np.arange(len(lt_v))) % 2 == 1
    off.lent += len(lt_v)
    lt_staff = np.where(
        lt_out,
        vstaff[lt_v],
        staff_off[vmuni[lt_v]] + (vstaff[lt_v] - staff_off[vmuni[lt_v]] + 1) % staff_m[vmuni[lt_v]],
    )
    lt_seg_end = seg_t0[seg_of_visit[lt_v]] + 103 * 60
    x_at = np.concatenate(
        [
            vstart[lo_v] + 300,
            vstart[wc_v] + 15,
            np.where(lt_out, lt_seg_end + 60, vstart[lt_v] + 300),
        ]
    )
    x_visit = np.concatenate([lo_v, wc_v, lt_v])
    x_staff = np.concatenate([vstaff[lo_v], vstaff[wc_v], lt_staff])
    x_cause = np.repeat(np.arange(3), [len(lo_v), len(wc_v), len(lt_v)])
    x_prog = rng.integers(0, 3, size=n_extra)

    # All links.
    all_res = np.concatenate([link_res, x_res])
    all_holder = np.concatenate([holder, x_holder])
    all_prog = np.concatenate([link_prog, x_prog])
    all_desk = np.concatenate([link_desk, np.ones(n_extra, dtype=bool)])
    all_visit = np.concatenate([link_visit, x_visit])
    all_at = np.concatenate([link_at, x_at])
    all_staff = np.concatenate(
        [np.where(link_desk, vstaff[np.maximum(link_visit, 0)], -1), x_staff]
    )
    all_style = np.concatenate([style, np.zeros(n_extra)])
    link_ids = _ids("L", plan.link_numbers(plan.bounds[u], links), plan.link_width)

    holder_style = np.searchsorted([0.93, 0.94, 0.95, 0.97], all_style, side="right")
    names = _take(
        pools["holder"],
        np.minimum(holder_style, 3) * (_NF * _NG) + name_ix[all_holder],
        holder_style < 4,
    )
    account = _mixbits(
        (all_holder + r0).astype(np.uint64) * np.uint64(3)
        + all_prog.astype(np.uint64)
        + np.uint64(plan.seed << 32)
    )
    term_pool = pa.array(
        [f"{munis[m]}-B{u:04d}-T{i:03d}" for m in range(n_muni) for i in range(int(terms_m[m]))]
    )
    staff_pool = pa.array(
        [f"{munis[m]}-B{u:04d}-S{i:03d}" for m in range(n_muni) for i in range(int(staff_m[m]))]
    )
    vis = np.maximum(all_visit, 0)
    link_table = pa.table(
        {
            "link_id": link_ids,
            "programme": _take(pools["programme"], all_prog),
            "resident_id": rid(all_res),
            "account_hash": _hex(account),
            "account_last4": pc.utf8_lpad(
                pa.array(account % np.uint64(10000)).cast(pa.string()), 4, "0"
            ),
            "holder_kana": names,
            "linked_at": pa.array(all_at * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
            "channel": _take(pools["channel"], all_desk.astype(np.int64)),
            "municipality_code": _take(muni_pool, res_muni[all_res]),
            "terminal_id": _take(term_pool, vterm[vis] if n_vis else vis, all_desk),
            "staff_id": _take(staff_pool, np.maximum(all_staff, 0), all_desk),
        }
    )

    # Desk events.
    ev: dict[str, list[Any]] = {k: [] for k in ("term", "at", "kind", "staff", "res", "link")}

    def add(term: Ints, at: Ints, kind: int, staff: Ints, res: Ints, link: Ints) -> None:
        ev["term"].append(term)
        ev["at"].append(at)
        ev["kind"].append(np.full(len(term), kind))
        ev["staff"].append(staff)
        ev["res"].append(res)
        ev["link"].append(link)

    def none(n: int) -> Ints:
        return np.full(n, -1)

    n_seg = len(seg_keys)
    add(seg_term, seg_t0, 0, seg_staff, none(n_seg), none(n_seg))
    add(seg_term, seg_t0 + 100 * 60, 1, seg_staff, none(n_seg), none(n_seg))
    add(vterm, vstart + 30, 2, vstaff, visit_res, none(n_vis))
    add(vterm, vstart + 480, 3, vstaff, visit_res, none(n_vis))
    desk_links = np.flatnonzero(all_desk)
    dv = all_visit[desk_links]
    add(vterm[dv], all_at[desk_links], 4, all_staff[desk_links], all_res[desk_links], desk_links)
    # Wrong card: the first resident's card read again at the next visit, then removed.
    add(vterm[wc_v], vstart[wc_v] + 5, 2, vstaff[wc_v], visit_res[wc_v - 1], none(len(wc_v)))
    add(vterm[wc_v], vstart[wc_v] + 25, 3, vstaff[wc_v], visit_res[wc_v - 1], none(len(wc_v)))
    # Lent terminal, no one signed in: a card read and removal around the commit.
    lt_o = lt_v[lt_out]
    lt_ores = visit_res[lt_o]
    add(vterm[lt_o], lt_seg_end[lt_out], 2, lt_staff[lt_out], lt_ores, none(len(lt_o)))
    add(vterm[lt_o], lt_seg_end[lt_out] + 240, 3, lt_staff[lt_out], lt_ores, none(len(lt_o)))
    cols = {k: np.concatenate(v) for k, v in ev.items()}
    eord = np.lexsort((cols["kind"], cols["at"], cols["term"]))
    cols = {k: v[eord] for k, v in cols.items()}
    has_res, has_link = cols["res"] >= 0, cols["link"] >= 0
    events = pa.table(
        {
            "terminal_id": _take(term_pool, cols["term"]),
            "at": pa.array(cols["at"] * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
            "event": _take(pools["event"], cols["kind"]),
            "staff_id": _take(staff_pool, np.maximum(cols["staff"], 0)),
            "resident_id": pc.if_else(
                pa.array(has_res), rid(np.maximum(cols["res"], 0)), pa.scalar(None, pa.string())
            ),
            "link_id": _take(link_ids, cols["link"], has_link),
        }
    )

    truth_idx = np.concatenate([tw, fa, n_base + np.arange(n_extra)])
    cause_pool = pa.array(
        ["logout_omission", "wrong_card", "lent_terminal", "typed_wrong_id", "family_account"]
    )
    truth_cause = np.concatenate([np.full(len(tw), 3), np.full(len(fa), 4), x_cause]).astype(
        np.int64
    )
    truth = pa.table(
        {"link_id": _take(link_ids, truth_idx), "cause": _take(cause_pool, truth_cause)}
    )
    off.residents += n_res
    off.households += n_hh
    return _Block(residents, link_table, events, truth)


def dataset_id(
    links: int, seed: int, rate: float, family_rate: float, self_share: float, block_links: int
) -> str:
    """The generated input's identity: a digest of what decides its every byte (the same
    arguments give byte-identical files, so the same identity)."""
    made = f"{links}:{seed}:{rate!r}:{family_rate!r}:{self_share!r}:{block_links}"
    return hashlib.sha256(made.encode()).hexdigest()[:16]


def generate(
    directory: Path | str,
    *,
    links: int,
    seed: int = 1,
    rate: float = 0.001,
    family_rate: float = 0.002,
    self_share: float = 0.4,
    block_links: int = BLOCK_LINKS,
) -> Generated:
    """Write residents, links, desk_events (+ format.json) and truth.parquet into ``directory``,
    one block of about ``block_links`` links at a time (one Parquet row group per block)."""
    if links < 100:
        raise ValueError(
            f"--links {links} is too few: give at least 100 (fewer links leave too few desk "
            "visits for the mix of mis-links). Nothing was written."
        )
    if links > MAX_LINKS:
        # A number past 64 bits stopped the generator with numpy's OverflowError traceback.
        raise ValueError(
            f"--links {links} is too many: give at most {MAX_LINKS:,} (ten times the national "
            "scale the scan is measured at). Nothing was written."
        )
    if not 0 <= seed <= SEED_MOST:
        # A seed of 2**32 or more stopped the generator with an OverflowError traceback.
        raise ValueError(
            f"--seed {seed}: give a whole number from 0 to {SEED_MOST:,}. Nothing was written."
        )
    if not 0 <= rate <= 0.2 or not 0 <= family_rate <= 0.05:
        raise ValueError(
            f"--rate {rate:g} / --family-rate {family_rate:g}: --rate must be within 0..0.2 and "
            "--family-rate within 0..0.05 (shares of all links, e.g. 0.001 for one in a "
            "thousand). Nothing was written."
        )
    if block_links < 100:
        raise ValueError("block_links must be at least 100")
    plan = _plan(links, seed, rate, family_rate, self_share, block_links)
    dataset = dataset_id(links, seed, rate, family_rate, self_share, block_links)
    names = [*schema.TABLES, "truth"]
    with schema.Writer(directory, names) as out:
        off = _Offsets()
        events = 0
        found: dict[str, int] = {}
        for u in range(len(plan.bounds) - 1):
            block = _block(plan, u, off)
            out.write("residents", block.residents)
            out.write("links", block.links)
            out.write("desk_events", block.desk_events)
            out.write("truth", block.truth.replace_schema_metadata({schema.DATASET_KEY: dataset}))
            events += block.desk_events.num_rows
            for k, v in zip(
                *np.unique(
                    block.truth.column("cause").to_numpy(zero_copy_only=False), return_counts=True
                ),
                strict=True,
            ):
                found[str(k)] = found.get(str(k), 0) + int(v)
    return Generated(
        links=links,
        residents=off.residents,
        events=events,
        truth=dict(sorted(found.items())),
    )
