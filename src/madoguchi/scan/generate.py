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

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from madoguchi.namecheck.bench import FAMILY, GIVEN
from madoguchi.scan import schema

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


def _objects(values: list[str]) -> npt.NDArray[np.object_]:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _zipf(rng: np.random.Generator, n_pool: int, k: int) -> Ints:
    weights = 1 / (np.arange(n_pool) + 1) ** 0.9
    return rng.choice(n_pool, size=k, p=weights / weights.sum()).astype(np.int64)


def _ids(prefix: str, numbers: Ints, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _hex(values: npt.NDArray[np.uint64]) -> pa.Array:
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = ((values[:, None] >> shifts) & np.uint64(0xF)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return pa.array(np.ascontiguousarray(chars).view("S16").ravel()).cast(pa.string())


def _mixbits(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: a stand-in for the keyed account-number hash."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def generate(
    directory: Path | str,
    *,
    links: int,
    seed: int = 1,
    rate: float = 0.001,
    family_rate: float = 0.002,
    self_share: float = 0.4,
) -> Generated:
    """Write residents, links, desk_events (+ format.json) and truth.parquet into ``directory``."""
    if links < 100:
        raise ValueError("--links must be at least 100")
    if not 0 <= rate <= 0.2 or not 0 <= family_rate <= 0.05:
        raise ValueError("--rate must be within 0..0.2 and --family-rate within 0..0.05")
    rng = np.random.default_rng(seed)
    counts = mix(round(links * rate))
    n_extra = counts["logout_omission"] + counts["wrong_card"] + counts["lent_terminal"]
    n_base = links - n_extra

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
    n_muni = max(2, min(200, links // 25_000))
    munis = (_MUNICIPALITIES + [f"{20 + i // 900:02d}{100 + i % 900:03d}0" for i in range(n_muni)])[
        :n_muni
    ]
    res_muni = rng.integers(0, n_muni, size=n_hh)[household]
    fam = _zipf(rng, len(FAMILY), n_hh)[household]
    giv = _zipf(rng, len(GIVEN), n_res)
    fam_kana, giv_kana = _objects(FAMILY), _objects(GIVEN)
    fam_half, giv_half = _objects([_half(x) for x in FAMILY]), _objects([_half(x) for x in GIVEN])
    giv_typo = _objects([_half(g[: len(g) // 2] + g[len(g) // 2 + 1 :]) for g in GIVEN])
    fam_kanji = _objects([_KANJI_FAMILY.get(x, x) for x in FAMILY])
    giv_kanji = _objects([_KANJI_GIVEN.get(x, x) for x in GIVEN])
    birth = (np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, size=n_res)).astype(
        "datetime64[D]"
    )
    residents = pa.table(
        {
            "resident_id": _ids("R", np.arange(n_res), 8),
            "name_kana": pa.array(fam_kana[fam] + " " + giv_kana[giv], pa.string()),
            "name_kanji": pa.array(fam_kanji[fam] + " " + giv_kanji[giv], pa.string()),
            "birth_date": pa.array(birth),
            "household_id": _ids("H", household, 8),
            "municipality_code": pa.array(_objects(munis)[res_muni], pa.string()),
        }
    )

    # Base links: each resident's links in one visit (desk) or online (self).
    link_res = np.repeat(np.arange(n_res), per_res)
    first = np.repeat(np.cumsum(per_res) - per_res, per_res)
    nth = np.arange(n_base) - first
    link_prog = (rng.integers(0, 3, size=n_res)[link_res] + nth) % 3
    desk_res = rng.random(n_res) >= self_share
    link_desk = desk_res[link_res]

    # Desk visits: terminals per municipality, sessions of up to eight visits.
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
    n_extra_links = n_extra
    # Injections that change a base link: typed wrong ID and family accounts.
    free = rng.permutation(n_base)
    tw = free[: counts["typed_wrong_id"]]
    rest = free[counts["typed_wrong_id"] :]
    multi = rest[hh_size[household[link_res[rest]]] >= 2]
    fa = multi[: round(links * family_rate)]
    style[tw] = 0.0
    style[fa] = 0.0
    others = rng.integers(0, n_res, size=len(tw))
    clash = (household[others] == household[link_res[tw]]) | (
        (fam[others] == fam[link_res[tw]]) & (giv[others] == giv[link_res[tw]])
    )
    others[clash] = (others[clash] + n_res // 2 + 7) % n_res
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
    need = counts["logout_omission"] + counts["wrong_card"]
    if len(cands) < need + counts["lent_terminal"]:
        raise ValueError(
            "too few desk visits for the requested rate; raise --links or lower --rate"
        )
    lo_v = cands[: counts["logout_omission"]]
    wc_v = cands[counts["logout_omission"] : need]
    lt_v = cands[need : need + counts["lent_terminal"]]
    x_res = np.concatenate([visit_res[lo_v - 1], visit_res[wc_v - 1], visit_res[lt_v]])
    x_holder = np.concatenate(
        [visit_res[lo_v], visit_res[wc_v], rng.integers(0, n_res, size=len(lt_v))]
    )
    lt_clash = household[x_holder[need:]] == household[x_res[need:]]
    x_holder[need:][lt_clash] = (x_holder[need:][lt_clash] + n_res // 3 + 1) % n_res
    lt_out = np.arange(len(lt_v)) % 2 == 1  # every other lent-terminal case: no one signed in
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
    x_cause = np.repeat(
        np.array(["logout_omission", "wrong_card", "lent_terminal"], dtype=object),
        [len(lo_v), len(wc_v), len(lt_v)],
    )
    x_prog = rng.integers(0, 3, size=n_extra_links)

    # All links.
    all_res = np.concatenate([link_res, x_res])
    all_holder = np.concatenate([holder, x_holder])
    all_prog = np.concatenate([link_prog, x_prog])
    all_desk = np.concatenate([link_desk, np.ones(n_extra_links, dtype=bool)])
    all_visit = np.concatenate([link_visit, x_visit])
    all_at = np.concatenate([link_at, x_at])
    all_staff = np.concatenate(
        [np.where(link_desk, vstaff[np.maximum(link_visit, 0)], -1), x_staff]
    )
    all_style = np.concatenate([style, np.zeros(n_extra_links)])
    n_all = len(all_res)
    number = rng.permutation(n_all)
    link_ids = _ids("L", number, 9)

    hf, hg = fam[all_holder], giv[all_holder]
    zengin = fam_half[hf] + " " + giv_half[hg]
    names = np.where(
        all_style < 0.93,
        zengin,
        np.where(
            all_style < 0.94,
            giv_half[hg] + " " + fam_half[hf],
            np.where(
                all_style < 0.95,
                fam_half[hf] + " " + giv_typo[hg],
                np.where(all_style < 0.97, fam_kana[hf] + "\u3000" + giv_kana[hg], None),
            ),
        ),
    )
    account = _mixbits(
        all_holder.astype(np.uint64) * np.uint64(3)
        + all_prog.astype(np.uint64)
        + np.uint64(seed << 32)
    )
    term_names = _objects(
        [f"{munis[m]}-T{i:03d}" for m in range(n_muni) for i in range(int(terms_m[m]))]
    )
    staff_names = _objects(
        [f"{munis[m]}-S{i:03d}" for m in range(n_muni) for i in range(int(staff_m[m]))]
    )
    link_term = np.where(all_desk, term_names[vterm[np.maximum(all_visit, 0)]], None)
    link_staff = np.where(all_desk, staff_names[np.maximum(all_staff, 0)], None)
    link_table = pa.table(
        {
            "link_id": link_ids,
            "programme": pa.array(_objects(list(schema.PROGRAMMES))[all_prog], pa.string()),
            "resident_id": _ids("R", all_res, 8),
            "account_hash": _hex(account),
            "account_last4": pc.utf8_lpad(
                pa.array(account % np.uint64(10000)).cast(pa.string()), 4, "0"
            ),
            "holder_kana": pa.array(names, pa.string()),
            "linked_at": pa.array(all_at * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
            "channel": pa.array(np.where(all_desk, "desk", "self").astype(object), pa.string()),
            "municipality_code": pa.array(_objects(munis)[res_muni[all_res]], pa.string()),
            "terminal_id": pa.array(link_term, pa.string()),
            "staff_id": pa.array(link_staff, pa.string()),
        }
    )

    # Desk events.
    seg_term_of = seg_term
    ev: dict[str, list[Any]] = {k: [] for k in ("term", "at", "kind", "staff", "res", "link")}

    def add(term: Ints, at: Ints, kind: int, staff: Ints, res: Ints, link: Ints) -> None:
        n = len(term)
        ev["term"].append(term)
        ev["at"].append(at)
        ev["kind"].append(np.full(n, kind))
        ev["staff"].append(staff)
        ev["res"].append(res)
        ev["link"].append(link)

    none = np.full
    add(seg_term_of, seg_t0, 0, seg_staff, none(len(seg_keys), -1), none(len(seg_keys), -1))
    add(
        seg_term_of,
        seg_t0 + 100 * 60,
        1,
        seg_staff,
        none(len(seg_keys), -1),
        none(len(seg_keys), -1),
    )
    add(vterm, vstart + 30, 2, vstaff, visit_res, none(n_vis, -1))
    add(vterm, vstart + 480, 3, vstaff, visit_res, none(n_vis, -1))
    desk_links = np.flatnonzero(all_desk)
    dv = all_visit[desk_links]
    add(vterm[dv], all_at[desk_links], 4, all_staff[desk_links], all_res[desk_links], desk_links)
    # Wrong card: the first resident's card read again at the next visit, then removed.
    add(vterm[wc_v], vstart[wc_v] + 5, 2, vstaff[wc_v], visit_res[wc_v - 1], none(len(wc_v), -1))
    add(vterm[wc_v], vstart[wc_v] + 25, 3, vstaff[wc_v], visit_res[wc_v - 1], none(len(wc_v), -1))
    # Lent terminal, no one signed in: a card read and removal around the commit.
    lt_o = lt_v[lt_out]
    lt_ores = visit_res[lt_o]
    add(vterm[lt_o], lt_seg_end[lt_out], 2, lt_staff[lt_out], lt_ores, none(len(lt_o), -1))
    add(vterm[lt_o], lt_seg_end[lt_out] + 240, 3, lt_staff[lt_out], lt_ores, none(len(lt_o), -1))
    cols = {k: np.concatenate(v) for k, v in ev.items()}
    eord = np.lexsort((cols["kind"], cols["at"], cols["term"]))
    cols = {k: v[eord] for k, v in cols.items()}
    kinds = _objects(["login", "logout", "card_read", "card_removed", "commit"])
    res_ids = _ids("R", np.maximum(cols["res"], 0), 8)
    link_id_of = link_ids.take(pa.array(np.maximum(cols["link"], 0)))
    events = pa.table(
        {
            "terminal_id": pa.array(term_names[cols["term"]], pa.string()),
            "at": pa.array(cols["at"] * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
            "event": pa.array(kinds[cols["kind"]], pa.string()),
            "staff_id": pa.array(staff_names[np.maximum(cols["staff"], 0)], pa.string()),
            "resident_id": pc.if_else(pa.array(cols["res"] >= 0), res_ids, None),
            "link_id": pc.if_else(pa.array(cols["link"] >= 0), link_id_of, None),
        }
    )
    schema.write(directory, {"residents": residents, "links": link_table, "desk_events": events})

    truth_idx = np.concatenate([tw, fa, n_base + np.arange(n_extra_links)])
    truth_cause = np.concatenate(
        [
            np.full(len(tw), "typed_wrong_id", dtype=object),
            np.full(len(fa), "family_account", dtype=object),
            x_cause,
        ]
    )
    truth = pa.table(
        {
            "link_id": link_ids.take(pa.array(truth_idx)),
            "cause": pa.array(truth_cause, pa.string()),
        }
    )
    pq.write_table(truth, Path(directory) / "truth.parquet")
    found = dict(zip(*np.unique(truth_cause.astype(str), return_counts=True), strict=True))
    return Generated(
        links=n_all,
        residents=n_res,
        events=events.num_rows,
        truth={str(k): int(v) for k, v in found.items()},
    )
