#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing to a throwaway PostgreSQL server on loopback,
# started from the Debian package's binaries and removed afterwards.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "PostgreSQL is not installed (Debian package 'postgresql'); run scripts/system-packages.sh" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/signlink-pg.XXXXXX)
port=${SIGNLINK_TEST_PGPORT:-55432}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() { as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_pg "$bin/initdb" -D "$dir/data" -A trust -U signlink --no-sync -E UTF8 >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" start >/dev/null
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U signlink signlink_test
export DATABASE_URL="postgresql://signlink@127.0.0.1:$port/signlink_test"
"$@"
