#!/usr/bin/env bash
# Tutorial part 1 with the real sqlite3 command line.
#   ./part1_sqlite.sh [WORKDIR]      (default: a new temporary directory)
set -euo pipefail
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
cd "$dir"
rm -f new.db

size() { stat -c %s "$1"; }

echo "sqlite> .save new.db        (from an empty in-memory session)"
sqlite3 :memory: ".save new.db"
echo "new.db: $(size new.db) bytes"

echo "sqlite> create table newtable (name text, city text, state text);"
echo "sqlite> insert into newtable values('Susan Smith','Tacoma','Washington');"
echo "sqlite> insert into newtable values('Bill Gates','Redmond','Washington');"
sqlite3 new.db <<'SQL'
create table newtable (name text, city text, state text);
insert into newtable values('Susan Smith','Tacoma','Washington');
insert into newtable values('Bill Gates','Redmond','Washington');
SQL
echo "sqlite> .tables"
sqlite3 new.db ".tables"
echo "sqlite> select * from newtable;"
sqlite3 new.db "select * from newtable;"
echo "new.db: $(size new.db) bytes"
