#!/usr/bin/env bash
# Print a DATABASE_URL for a PostgreSQL server the tests can use:
#   1. $DATABASE_URL when set;
#   2. the local server on 127.0.0.1:5432 when one answers and lets user postgres in without a
#      password (trust);
#   3. else a throwaway server started from the installed PostgreSQL binaries (in var/pg-test).
#   (PG_BINDIR: where its binaries are, when not under /usr/lib/postgresql)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; exit 0; fi
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  # Debian's own cluster (started when the postgresql package is installed) answers there too,
  # but asks a password over TCP: use the server only when user postgres gets in without one.
  if PGCONNECT_TIMEOUT=5 psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' \
    >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:5432/madoguchi"; exit 0
  fi
  echo "postgres.sh: the server on 127.0.0.1:5432 asks user postgres for a password;" \
    "using a throwaway server instead (or set DATABASE_URL)" >&2
fi
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ -z "$bindir" ]; then
  echo "postgres.sh: no PostgreSQL binaries; run scripts/bootstrap.sh as root or install postgresql" >&2
  exit 1
fi
dir=$PWD/var/pg-test
port=${PG_TEST_PORT:-25432}  # below the ephemeral range (32768-60999), where outgoing connections take ports
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); mkdir -p "$dir"; chown postgres "$dir"; fi
if [ ! -f "$dir/PG_VERSION" ]; then
  "${run_as[@]}" "$bindir/initdb" -D "$dir" -U postgres --auth=trust >/dev/null
fi
if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  "${run_as[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/madoguchi"
