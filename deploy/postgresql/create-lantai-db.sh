#!/bin/sh
# Create the PostgreSQL role and database for Lantai's catalogue (run as the postgres user):
#   sudo -u postgres sh deploy/postgresql/create-lantai-db.sh [ROLE] [DATABASE]
# (LANTAI_DB_PASSWORD=… sets the role's password without a prompt.)
# Then set LANTAI_DATABASE_URL=postgresql+psycopg://ROLE:PASSWORD@HOST:5432/DATABASE and run
# `lantai init` (migrations) — or, to move an existing SQLite catalogue, `lantai init` on the new
# URL followed by `lantai rebuild` (the catalogue is rebuilt from the store and the audit journal).
set -eu
ROLE="${1:-lantai}"
DATABASE="${2:-lantai}"
if ! psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'" | grep -q 1; then
    if [ -n "${LANTAI_DB_PASSWORD:-}" ]; then   # unattended: the password from the environment
        echo "CREATE ROLE \"$ROLE\" LOGIN PASSWORD :'pw';" | psql -v ON_ERROR_STOP=1 -v pw="$LANTAI_DB_PASSWORD"
    else
        echo "creating role $ROLE (you will be asked for its password)"
        createuser --no-superuser --no-createdb --no-createrole --login --pwprompt "$ROLE"
    fi
fi
if ! psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
    createdb --owner="$ROLE" --encoding=UTF8 --locale=C.UTF-8 --template=template0 "$DATABASE"
fi
# Only the owner may use it; the role owns its schema (Alembic creates the tables in it).
psql -v ON_ERROR_STOP=1 -d "$DATABASE" <<SQL
REVOKE ALL ON DATABASE "$DATABASE" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "$DATABASE" TO "$ROLE";
ALTER SCHEMA public OWNER TO "$ROLE";
-- one connection per web worker thread pool, per job worker, plus one lock connection each
ALTER ROLE "$ROLE" CONNECTION LIMIT 400;
SQL
echo "database $DATABASE owned by $ROLE is ready"
