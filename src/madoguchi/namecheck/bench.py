"""Throughput benchmark of the batch name check against bare rapidfuzz, in the same run."""

from __future__ import annotations

import gc
import os
import platform
import random
import time
import unicodedata
from dataclasses import dataclass

from rapidfuzz.fuzz import ratio

from madoguchi.namecheck.check import check_many
from madoguchi.namecheck.normalise import analyse, clear_caches

__all__ = ["BenchResult", "generate_pairs", "run"]

# Common readings, most frequent first (frequencies fall off like Zipf's law).
FAMILY = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマダ",
    "ササキ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "ハヤシ",
    "サイトウ",
    "シミズ",
    "ヤマザキ",
    "モリ",
    "イケダ",
    "ハシモト",
    "アベ",
    "イシカワ",
    "ヤマシタ",
    "ナカジマ",
    "イシイ",
    "オガワ",
    "マエダ",
    "オカダ",
    "ハセガワ",
    "フジタ",
    "ゴトウ",
    "コンドウ",
    "ムラカミ",
    "エンドウ",
    "アオキ",
    "サカモト",
    "フクダ",
    "オオタ",
    "ニシムラ",
    "フジイ",
    "キクチ",
    "オカモト",
    "フジワラ",
    "ミウラ",
    "ナカノ",
    "ナカガワ",
    "ハラダ",
    "マツダ",
    "タケウチ",
    "オノ",
    "タムラ",
    "ナカヤマ",
    "カネコ",
    "ワダ",
    "イシダ",
    "ウエダ",
    "モリタ",
    "ハラ",
    "シバタ",
    "サカイ",
    "クドウ",
    "ヨコヤマ",
    "ミヤザキ",
    "ミヤモト",
    "ウチダ",
    "タカギ",
    "アンドウ",
    "タニグチ",
    "オオノ",
    "マルヤマ",
    "イマイ",
    "タカダ",
    "フジモト",
    "タケダ",
    "ムラタ",
    "ウエノ",
    "スギヤマ",
    "マスダ",
    "スガワラ",
    "ヒラノ",
    "オオツカ",
    "チバ",
    "クボ",
    "マツイ",
    "コイズミ",
    "イワサキ",
    "キノシタ",
    "ノグチ",
    "マツオ",
    "ノムラ",
    "アライ",
    "ワタベ",
    "サノ",
    "スギモト",
    "ショウジ",
    "チョウ",
    "キョウゴク",
    "ジョウノウチ",
    "リュウ",
    "シュトウ",
]
GIVEN = [
    "ヒロシ",
    "タカシ",
    "アキラ",
    "マコト",
    "ケンジ",
    "タロウ",
    "ハナコ",
    "ユウコ",
    "ケイコ",
    "キョウコ",
    "ヨウコ",
    "サチコ",
    "ミホ",
    "アヤ",
    "メグミ",
    "ユイ",
    "ハルト",
    "ソウタ",
    "ユウト",
    "リク",
    "レン",
    "ミナト",
    "ヒナタ",
    "ユイナ",
    "サクラ",
    "アオイ",
    "リン",
    "ショウタ",
    "ユウキ",
    "ダイスケ",
    "ショウヘイ",
    "リョウ",
    "ジュン",
    "ジュンイチロウ",
    "シュウヘイ",
    "キョウスケ",
    "チヒロ",
    "ナオキ",
    "カズヤ",
    "マサヒロ",
    "トモコ",
    "ノリコ",
    "ヒロミ",
    "マユミ",
    "ミユキ",
    "ユミ",
    "アユミ",
    "エミ",
    "カズオ",
    "シゲル",
    "イサム",
    "ミノル",
    "ススム",
    "ヨシコ",
    "カズコ",
    "ヒデキ",
    "ノブオ",
    "テツヤ",
    "ツヨシ",
    "ヒロユキ",
    "タクヤ",
    "ケンタ",
    "リョウタ",
    "ユウタ",
    "コウタ",
    "ショウ",
    "ナナミ",
    "ミサキ",
    "アスカ",
    "マイ",
    "ユカ",
    "サヤカ",
    "チョウタロウ",
    "キョウヘイ",
    "ジュンコ",
    "リュウノスケ",
    "シュンスケ",
    "ユウスケ",
    "コウスケ",
    "ケイスケ",
    "ヨウスケ",
]

_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}
_SMALL = str.maketrans("ァィゥェォッャュョ", "アイウエオツヤユヨ")


def _half_width(kana: str) -> str:
    """Zengin style: half-width katakana, small kana written large, ﾞﾟ as separate marks."""
    out = []
    for ch in unicodedata.normalize("NFD", kana.translate(_SMALL)):
        if ch == "\u3099":
            out.append("ﾞ")
        elif ch == "\u309a":
            out.append("ﾟ")
        else:
            out.append(_HALF.get(ch, ch))
    return "".join(out)


def _hiragana(kana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana)


def _zipf(rng: random.Random, pool: list[str], k: int) -> list[str]:
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(pool))]
    return rng.choices(pool, weights=weights, k=k)


def generate_pairs(n: int, seed: int = 5) -> list[tuple[str, str | None]]:
    """Realistic (resident kana, account name) pairs.

    The resident's side is typed at the desk (hiragana or katakana, full-width space, none,
    small kana); the account side is Zengin style (half-width, no small kana). Mix: 88% the
    same person, 3% order swapped, 2% a typo, 4% a family member, 2% someone else, 1% no name.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    families = _zipf(rng, FAMILY, n)
    givens = _zipf(rng, GIVEN, n)
    others = _zipf(rng, GIVEN, n)
    pairs: list[tuple[str, str | None]] = []
    for family, given, other in zip(families, givens, others, strict=True):
        style = rng.random()
        if style < 0.5:
            resident = f"{_hiragana(family)}\u3000{_hiragana(given)}"
        elif style < 0.8:
            resident = f"{family} {given}"
        elif style < 0.95:
            resident = f"{family}\u3000{given}"
        else:
            resident = family + given
        kind = rng.random()
        if kind < 0.88:
            account: str | None = _half_width(f"{family} {given}")
        elif kind < 0.91:
            account = _half_width(f"{given} {family}")
        elif kind < 0.93:
            cut = rng.randrange(len(given))
            account = _half_width(f"{family} {given[:cut]}{given[cut + 1 :]}")
        elif kind < 0.97:
            account = _half_width(f"{family} {other}")
        elif kind < 0.99:
            account = _half_width(f"{rng.choice(FAMILY)} {other}")
        else:
            account = None
        pairs.append((resident, account))
    return pairs


@dataclass(frozen=True)
class BenchResult:
    pairs: int
    distinct_names: int
    distinct_pairs: int
    namecheck_pairs_per_s: float
    rapidfuzz_pairs_per_s: float
    machine: str

    @property
    def slowdown(self) -> float:
        """How many times slower the full name check is than bare rapidfuzz (target ≤ 3)."""
        return self.rapidfuzz_pairs_per_s / self.namecheck_pairs_per_s


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _best(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def run(n: int = 1_000_000, repeat: int = 3, seed: int = 5) -> BenchResult:
    """Time ``check_many`` (cold: caches cleared each repeat) and bare ``fuzz.ratio`` on the
    already normalised keys of the same pairs; the best of ``repeat`` runs of each."""
    pairs = generate_pairs(n, seed)
    keys = [(analyse(a).key, analyse(b if b is not None else "").key) for a, b in pairs]

    def namecheck() -> None:
        clear_caches()
        check_many(pairs)

    def bare() -> None:
        [ratio(a, b) for a, b in keys]

    t_check = _best(namecheck, repeat)
    t_bare = _best(bare, repeat)
    names = {p[0] for p in pairs} | {p[1] for p in pairs}
    return BenchResult(
        pairs=n,
        distinct_names=len(names),
        distinct_pairs=len(set(pairs)),
        namecheck_pairs_per_s=n / t_check,
        rapidfuzz_pairs_per_s=n / t_bare,
        machine=_machine(),
    )
