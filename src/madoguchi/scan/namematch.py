"""The name check as a vectorised UDF inside the engine.

One function, :func:`outcome_codes`, runs ``madoguchi.namecheck.check_batch`` over a whole
batch of (resident kana, holder name) pairs and returns the outcome codes; the engine gets it
as an ibis UDF: a PyArrow UDF on DuckDB (called once per vector of rows), a pandas UDF on
Spark (called once per Arrow batch). Neither calls Python once per row.

Codes: ``MATCH`` 0, ``CLOSE`` 1, ``NO_MATCH`` 2, ``UNAVAILABLE`` 3 (no holder name), and
null where the resident side is null (no such resident).
"""

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from madoguchi.namecheck import OUTCOME_CODES, Outcome, check_batch

__all__ = ["CLOSE", "MATCH", "NO_MATCH", "UNAVAILABLE", "Counter", "outcome_codes", "udf_for"]

MATCH = OUTCOME_CODES.index(Outcome.MATCH)
CLOSE = OUTCOME_CODES.index(Outcome.CLOSE)
NO_MATCH = OUTCOME_CODES.index(Outcome.NO_MATCH)
UNAVAILABLE = OUTCOME_CODES.index(Outcome.UNAVAILABLE)


class Counter:
    """Rows checked so far in this process (the progress bar reads it; DuckDB calls the UDF
    from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.rows += n


COUNTER = Counter()


def outcome_codes(
    residents: Sequence[str | None],
    holders: Sequence[str | None],
    missing: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int8]:
    """Outcome codes for the pairs; ``missing`` marks the rows whose resident is null (their
    code is left 0 and masked by the caller)."""
    n = len(residents)
    codes = np.zeros(n, dtype=np.int8)
    if missing.any():
        keep = np.flatnonzero(~missing)
        batch = check_batch(
            [residents[int(i)] or "" for i in keep], [holders[int(i)] for i in keep]
        )
        codes[keep] = batch.outcome_codes
    elif n:
        codes[:] = check_batch(residents, holders).outcome_codes  # type: ignore[arg-type]
    COUNTER.add(n)
    return codes


def _pyarrow_udf() -> Any:
    # ibis and pyarrow only when a UDF is built: rules and generate import this module for its constants.
    import ibis
    import ibis.expr.datatypes as dt
    import pyarrow as pa

    @ibis.udf.scalar.pyarrow(name="madoguchi_namecheck")
    def madoguchi_namecheck(resident: str, holder: str) -> dt.int8:
        missing = resident.is_null().to_numpy(zero_copy_only=False)  # type: ignore[attr-defined]
        codes = outcome_codes(resident.to_pylist(), holder.to_pylist(), missing)  # type: ignore[attr-defined]
        return pa.array(codes, type=pa.int8(), mask=missing)

    return madoguchi_namecheck


def _pandas_udf() -> Any:
    # ibis and pandas only when a UDF is built: rules and generate import this module for its constants.
    import ibis
    import ibis.expr.datatypes as dt
    import pandas as pd

    @ibis.udf.scalar.pandas(name="madoguchi_namecheck")
    def madoguchi_namecheck(resident: str, holder: str) -> dt.int8:
        missing = resident.isna().to_numpy()  # type: ignore[attr-defined]
        r = resident.astype(object).where(~resident.isna(), None).tolist()  # type: ignore[attr-defined]
        h = holder.astype(object).where(~holder.isna(), None).tolist()  # type: ignore[attr-defined]
        out = pd.Series(outcome_codes(r, h, missing), dtype="Int8")
        out[missing] = pd.NA
        return out

    return madoguchi_namecheck


_FACTORIES: dict[str, Callable[[], Any]] = {"duckdb": _pyarrow_udf, "pyspark": _pandas_udf}


def udf_for(backend_name: str) -> Any:
    """The name-check UDF for an ibis backend (``duckdb`` or ``pyspark``)."""
    return _FACTORIES[backend_name]()
