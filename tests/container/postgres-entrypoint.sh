# The part of the official postgres image's contract that compose.yaml uses: on first start,
# POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB make that role (password-checked from any
# host) and that database, UTF-8, as the official image makes them.
set -eu
export PATH="$(ls -d /usr/lib/postgresql/*/bin):$PATH"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s' "$POSTGRES_PASSWORD" > /tmp/password
  initdb --encoding=UTF8 --locale=C.UTF-8 --username="$POSTGRES_USER" \
    --pwfile=/tmp/password --auth=scram-sha-256 -D "$PGDATA" >/dev/null
  rm /tmp/password
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    PGPASSWORD="$POSTGRES_PASSWORD" createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl -D "$PGDATA" -w stop >/dev/null
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
