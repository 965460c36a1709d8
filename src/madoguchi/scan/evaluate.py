"""Precision and recall per cause: findings against a truth file, both keyed by ``link_id``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from madoguchi.scan import schema
from madoguchi.scan.rules import CAUSES, MISLINK_CAUSES
from madoguchi.scan.schema import DATASET_KEY, InputError

__all__ = ["CauseScore", "Evaluation", "evaluate", "evaluate_files"]

TARGET_RECALL = {
    "logout_omission": 0.98,
    "lent_terminal": 0.98,
    "typed_wrong_id": 0.9,
    "wrong_card": 0.9,
}
TARGET_PRECISION = 0.9


@dataclass(frozen=True)
class CauseScore:
    cause: str
    truth: int
    flagged: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.truth if self.truth else None


@dataclass(frozen=True)
class Evaluation:
    per_cause: tuple[CauseScore, ...]
    mislink_precision: float | None
    """Flagged with any mis-link cause, and a mis-link in truth (of any cause)."""
    exact_precision: float | None
    """Flagged with any mis-link cause, and a mis-link of that cause in truth."""
    family_as_mislink: int
    """Family accounts in truth reported with a mis-link cause (must be 0)."""

    def targets_met(self) -> bool:
        by = {c.cause: c for c in self.per_cause}
        recall_ok = all(
            by[c].recall is None or (by[c].recall or 0) >= t for c, t in TARGET_RECALL.items()
        )
        precision_ok = self.exact_precision is None or self.exact_precision >= TARGET_PRECISION
        return recall_ok and precision_ok and self.family_as_mislink == 0

    def lines(self) -> list[str]:
        def pct(x: float | None) -> str:
            return "   -  " if x is None else f"{x:6.3f}"

        out = [
            f"{'cause':<17} {'truth':>7} {'flagged':>8} {'correct':>8} precision  recall  target"
        ]
        for c in self.per_cause:
            target = TARGET_RECALL.get(c.cause)
            out.append(
                f"{c.cause:<17} {c.truth:>7} {c.flagged:>8} {c.correct:>8} "
                f"   {pct(c.precision)}  {pct(c.recall)}  "
                + (f"recall >= {target}" if target else "(reported apart)")
            )
        out.append(
            f"mis-links: precision {pct(self.mislink_precision).strip()} (any cause), "
            f"{pct(self.exact_precision).strip()} (the right cause); target >= {TARGET_PRECISION}"
        )
        out.append(f"family accounts reported as mis-links: {self.family_as_mislink} (target 0)")
        out.append("targets met" if self.targets_met() else "targets NOT met")
        return out


def evaluate(findings: pa.Table, truth: pa.Table) -> Evaluation:
    found = dict(
        zip(
            findings.column("link_id").to_pylist(),
            findings.column("cause").to_pylist(),
            strict=True,
        )
    )
    real = dict(
        zip(truth.column("link_id").to_pylist(), truth.column("cause").to_pylist(), strict=True)
    )
    scores = []
    for cause in CAUSES:
        t = {k for k, v in real.items() if v == cause}
        f = {k for k, v in found.items() if v == cause}
        scores.append(CauseScore(cause, len(t), len(f), len(t & f)))
    flagged = {k: v for k, v in found.items() if v in MISLINK_CAUSES}
    any_right = sum(1 for k in flagged if real.get(k) in MISLINK_CAUSES)
    exact_right = sum(1 for k, v in flagged.items() if real.get(k) == v)
    family = sum(1 for k in flagged if real.get(k) == "family_account")
    return Evaluation(
        per_cause=tuple(scores),
        mislink_precision=any_right / len(flagged) if flagged else None,
        exact_precision=exact_right / len(flagged) if flagged else None,
        family_as_mislink=family,
    )


def _read(path: Path, columns: list[str]) -> pa.Table:
    if not path.exists():
        raise InputError(
            str(path),
            None,
            "missing: give --findings a run's findings (OUT/findings.parquet, or the OUT "
            "directory itself, of `madoguchi scan run DIR --out OUT`)",
        )
    if path.is_dir() and (path / "findings.parquet").is_file():
        path = path / "findings.parquet"  # a run's OUT directory: its findings
    elif path.is_dir():
        raise InputError(
            str(path), None, "is a directory: give the file (OUT/findings.parquet, truth.parquet)"
        )
    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(str(path), None, f"cannot be read as Parquet ({exc})") from exc
    for col in columns:
        if col not in names:
            raise InputError(
                str(path),
                col,
                "missing column: a run's findings.parquet and scan generate's truth.parquet "
                "have link_id and cause; is this one of them?",
            )
    return pq.read_table(path, columns=columns)  # only these: the truth of 100M links is small


def _dataset(table: pa.Table) -> str | None:
    value = (table.schema.metadata or {}).get(DATASET_KEY)
    return value.decode() if value else None


UNKNOWN_EXAMPLES = 5
"""How many unknown link IDs a refusal names."""


def unknown_links(truth: pa.Table, directory: Path) -> list[str]:
    """The link IDs of ``truth`` (sorted, each once) that are not links of the input in
    ``directory``: read its links table's ``link_id`` alone, one batch at a time (the truth is
    small; the links may be 100M)."""
    links = schema.files(directory)["links"]
    left = pc.unique(truth.column("link_id").drop_null().combine_chunks())
    for batch in schema.key_batches(links, "links", "link_id"):
        if not len(left):
            break
        left = left.filter(pc.invert(pc.is_in(left, value_set=batch.column(0))))
    return sorted(left.to_pylist())


def evaluate_files(findings: Path, truth: Path, directory: Path | None = None) -> Evaluation:
    """Score ``findings`` against ``truth``; refused when both name the generated input they
    belong to and it is not the same one (the same N gives the same link IDs, so scoring one
    input's findings against another's truth would print figures of nothing), and, given the
    input ``directory``, when a truth row names a link that is not one of its links (a truth
    file of another input, or a mistyped ID: it would count as a mis-link the scan missed)."""
    found, real = _read(findings, ["link_id", "cause"]), _read(truth, ["link_id", "cause"])
    if directory is not None:
        unknown = unknown_links(real, directory)
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:UNKNOWN_EXAMPLES])
            more = ", …" if len(unknown) > UNKNOWN_EXAMPLES else ""
            raise InputError(
                str(truth),
                None,
                f"{len(unknown):,} of its {real.num_rows:,} link IDs are not links of "
                f"{directory} (e.g. {shown}{more}): it is the truth of another input, or they "
                "are mistyped, and precision and recall against it would mean nothing; give "
                "the truth.parquet that scan generate wrote beside the scanned input "
                "(nothing was scored)",
            )
    of_findings, of_truth = _dataset(found), _dataset(real)
    if of_findings and of_truth and of_findings != of_truth:
        raise InputError(
            str(findings),
            None,
            f"are the findings of another generated input than {truth}'s (input {of_findings}, "
            f"truth of input {of_truth}): evaluate a run's findings with the truth.parquet "
            "that scan generate wrote beside that run's input",
        )
    return evaluate(found, real)
