#!/usr/bin/env bash
# Bring a fresh Debian machine with Python 3.11 to a working environment:
# system packages (when root), uv, the pinned virtual environment, and the project itself.
# Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project and its tests need:
#   swig, libpcsclite-dev     build pyscard (no Linux wheel)
#   pcscd, vsmartcard-vpcd    real PC/SC with a virtual reader (card tests, demo)
#   pcsc-tools                pcsc_scan, for people
#   chromium                  browser tests (Playwright drives Debian's chromium)
#   fonts-noto-cjk            Japanese text in pages and PDFs
#   libpango*                 WeasyPrint (PDF receipts and reports)
#   postgresql                a throwaway server when none is running
#   gettext                   msgfmt: compiled translations are checked against the catalogues
#   default-jre-headless      Java for Apache Spark (the forensic scan's cluster engine)
#   python3-venv              a virtual environment for uv when it is not installed (below)
APT_PACKAGES=(swig libpcsclite-dev pcscd vsmartcard-vpcd pcsc-tools chromium fonts-noto-cjk gettext
  libpango-1.0-0 libpangoft2-1.0-0 postgresql default-jre-headless python3-venv)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: these Debian packages are missing: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
# Debian's Python refuses `pip install` outside a virtual environment (PEP 668: "externally
# managed"), and has no pip unless python3-pip is installed: a uv that is not on the PATH is
# installed into a virtual environment of its own, .uv, made with the standard library's venv.
UV=uv
if ! command -v uv >/dev/null; then
  if [ ! -x .uv/bin/uv ]; then
    echo "bootstrap: installing uv into .uv"
    "$PY" -m venv .uv
    .uv/bin/python -m pip install -q uv
  fi
  UV=.uv/bin/uv
fi

REQ=${REQUIREMENTS:-requirements/dev.txt}
stamp=.venv/.synced
if [ ! -x .venv/bin/python ]; then
  "$UV" venv -q .venv --python "$PY"
fi
# Bytecode is compiled once here: `make` runs Python with PYTHONDONTWRITEBYTECODE (no __pycache__
# in the tree), so without it every process the tests start (commands, servers, workers) compiled
# Django and the other libraries from source again, about 2 s of CPU each.
if [ ! -f "$stamp" ] || [ "$REQ" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ] ||
  [ scripts/bootstrap.sh -nt "$stamp" ]; then
  echo "bootstrap: syncing .venv with $REQ"
  "$UV" pip sync -q --compile-bytecode --python .venv/bin/python "$REQ"
  "$UV" pip install -q --python .venv/bin/python --no-deps -e .
  touch "$stamp"
fi
