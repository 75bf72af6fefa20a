#!/usr/bin/env bash
# Start a throw-away PostgreSQL (Debian package) for the tests; prints the URL to use. Stop: stop_postgres.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=$(mktemp -d /tmp/codx-pg.XXXXXX)
PORT=${CODX_PG_PORT:-54329}
chown postgres "$PGDATA"
su postgres -s /bin/sh -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1' -l $PGDATA/log -w start" >/dev/null
echo "$PGDATA" > /tmp/codx-pg.datadir
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
