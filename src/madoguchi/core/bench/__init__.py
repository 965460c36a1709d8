"""Load benchmarks of the completion path and the audit log (`madoguchi bench completion|audit`).

`server` is mounted into the running server only with ``MADOGUCHI_BENCH=1``: the floor view
(one row inserted by a bare Django view) and per-process counters of SQL statements and audit
lock acquisitions. `completion` drives whole visits over HTTP; `audit` measures appends and
verification.
"""
