#!/usr/bin/env bash
# Tutorial 6, part 1 ("Using the SQLite Command Line") with the real sqlite3 CLI; answers Q1.
#   ./part1_sqlite.sh [WORKDIR [PRELOADED_DB]]
# WORKDIR (default: a new temporary directory, kept) receives new.db. If PRELOADED_DB is
# given, the finished database is also copied there: the "preload a database with the sqlite3
# CLI and bundle it with a function" step (hello_sqlite/cities.db was made this way).
set -euo pipefail
command -v sqlite3 > /dev/null || { echo "sqlite3 not found (apt install sqlite3)" >&2; exit 1; }
dir=${1:-$(mktemp -d)}
preloaded=${2:-}
mkdir -p "$dir"
cd "$dir"
rm -f new.db
echo "working in $dir"

size() { echo "new.db: $(wc -c < new.db | tr -d " ") bytes"; }

echo "sqlite> .save new.db      (from an empty in-memory session)"
sqlite3 :memory: ".save new.db"
echo "\$ ls -l new.db"
ls -l new.db
size

sql() {
    echo "sqlite> $1"
    sqlite3 new.db "$1"
}
sql ".databases"
sql ".tables"
sql "create table newtable (name text, city text, state text);"
sql ".tables"
sql "insert into newtable values('Susan Smith','Tacoma','Washington');"
sql "insert into newtable values('Bill Gates','Redmond','Washington');"
sql "select * from newtable;"

echo "\$ ls -l new.db      (Q1: the size after creating 'newtable' and loading data)"
ls -l new.db
size

if [[ -n $preloaded ]]; then
    cp new.db "$preloaded"
    echo "preloaded database written to $preloaded"
fi
