#!/bin/sh
# Starts the throwaway PostgreSQL cluster the expand/contract tests use (Debian's postgresql): data
# under /tmp/bake-pg, trust authentication, listening on 127.0.0.1 only, port 54329. Idempotent: a
# cluster that already answers is left alone. Prints its URL (what BAKE_TEST_DATABASE_URL holds).
# Used by .ci/run and by test/helpers/postgres.ts on a laptop. initdb refuses to run as root, so as
# root the cluster belongs to the `postgres` user.
set -eu
port=${BAKE_TEST_PG_PORT:-54329}
data=${BAKE_TEST_PG_DATA:-/tmp/bake-pg}
url="postgres://postgres@127.0.0.1:$port/postgres"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "test-postgres: no initdb under /usr/lib/postgresql (apt-get install -y postgresql)" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "$url"
  exit 0
fi
if [ ! -s "$data/PG_VERSION" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"; fi
  chmod 700 "$data"
  if ! out=$(as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust 2>&1); then
    echo "$out" >&2
    exit 1
  fi
fi
# The socket goes into the data directory: /var/run/postgresql may not exist or be writable.
if ! as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" start >/dev/null 2>&1; then
  echo "test-postgres: the cluster did not start:" >&2
  tail -n 20 "$data/server.log" >&2 || true
  exit 1
fi
for _ in $(seq 1 60); do
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || { echo "test-postgres: no answer on 127.0.0.1:$port" >&2; exit 1; }
echo "$url"
