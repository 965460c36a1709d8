"""The forensic scan: find unreported mis-links in historical link data and desk logs.

Pure Python (no Django): ``schema`` (the input format), ``generate`` (synthetic data with
ground truth), ``rules`` (one ibis definition per rule), ``engine`` (DuckDB or Spark),
``evaluate``, ``report`` and ``bench``. See docs/scan.md.
"""
