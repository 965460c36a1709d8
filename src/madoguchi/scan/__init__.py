"""The forensic scan: find unreported mis-links in historical link data and desk logs.

Pure Python (no Django): ``schema`` (the input format), ``generate`` (synthetic data with
ground truth), ``rules`` (one ibis definition per rule), ``engine`` (DuckDB or Spark),
``evaluate``, ``report`` and ``bench``. See docs/scan.md.
"""

# What ``generate`` makes, as whole numbers (here, for the commands' options to read without
# loading numpy): at most a billion links, ten times the national scale the scan is measured
# at; the seed goes into the top 32 bits of a 64-bit account number (``generate._block``).
MAX_LINKS = 1_000_000_000
SEED_MOST = 2**32 - 1
