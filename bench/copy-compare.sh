#!/usr/bin/env bash
# `todo-fcgi copy` against PostgreSQL's own bulk load and against another build, in one run
# (docs/BENCHMARKS.md, "copy"):
#   bench/copy-compare.sh ADMIN_URI NEW_BINARY OLD_BINARY SOURCE_DB [SOURCE_DB_1M]
# ADMIN_URI is the `postgres` URI `scripts/postgres-cluster.sh start DIR` prints (a unix socket);
# SOURCE_DB comes from bench/copy-source.py. Creates and drops databases own_path, new_pg, old_pg,
# src_pg and big_pg on that server; everything else goes to a scratch directory.
set -euo pipefail
admin=${1:?usage: copy-compare.sh ADMIN_URI NEW_BINARY OLD_BINARY SOURCE_DB [SOURCE_DB_1M]}
new=${2:?}; old=${3:?}; source=${4:?}; big=${5:-}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export BETTER_AUTH_SECRET=$(printf 'x%.0s' $(seq 40))
socket_query=${admin#*\?}
uri() { echo "postgresql://todo@/$1?$socket_query"; }
fresh() { psql "$admin" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1 OWNER todo" >/dev/null 2>&1; uri "$1"; }
seconds() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$2"; }
timed() {  # timed COMMAND…: "S s R KiB" (wall seconds, max RSS)
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$scratch/rss" "$@" >/dev/null 2>"$scratch/err" || { cat "$scratch/err" >&2; return 1; }
    end=$(date +%s.%N)
    echo "$(seconds "$start" "$end") s $(cat "$scratch/rss") KiB"
}

# PostgreSQL's own path: the same rows as CSV, \copy into the table without its secondary
# indexes, then the indexes.
columns=$(sqlite3 "$source" "SELECT group_concat(name, ', ') FROM pragma_table_info('tasks')")
python3 - "$source" "$scratch/rows.csv" <<'PY'
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [row[1] for row in db.execute("PRAGMA table_info('tasks')")]
booleans = {i for i, n in enumerate(names) if n in ("completed", "due_all_day")}
with open(sys.argv[2], "w", newline="") as f:
    out = csv.writer(f)
    for row in db.execute(f"SELECT {', '.join(names)} FROM tasks ORDER BY id"):
        out.writerow(["" if v is None else ("t" if v else "f") if i in booleans else v for i, v in enumerate(row)])
PY
for round in 1 2; do
    target=$(fresh own_path)
    "$new" migrate --quiet --database "$target" >/dev/null
    definitions=$(psql "$target" -qAtc "SELECT indexdef || ';' FROM pg_indexes WHERE tablename = 'tasks' AND indexname <> 'tasks_pkey'")
    psql "$target" -qAtc "SELECT 'DROP INDEX ' || indexname || ';' FROM pg_indexes WHERE tablename = 'tasks' AND indexname <> 'tasks_pkey'" | psql "$target" -q
    start=$(date +%s.%N)
    psql "$target" -q -c "ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY" -c "\\copy tasks ($columns) FROM '$scratch/rows.csv' WITH (FORMAT csv)"
    middle=$(date +%s.%N)
    echo "$definitions" | psql "$target" -q
    end=$(date +%s.%N)
    echo "round $round PostgreSQL's own path: rows $(seconds "$start" "$middle") s, $(echo "$definitions" | wc -l) indexes $(seconds "$middle" "$end") s, total $(seconds "$start" "$end") s"
    echo "round $round new SQLite -> PostgreSQL: $(timed "$new" copy --quiet --from "$source" --to "$(fresh new_pg)")"
    echo "round $round old SQLite -> PostgreSQL: $(timed "$old" copy --from "$source" --to "$(fresh old_pg)")"
    echo "round $round new PostgreSQL -> SQLite (fresh source): $(timed "$new" copy --quiet --from "$(uri new_pg)" --to "$scratch/new-$round.db")"
    echo "round $round old PostgreSQL -> SQLite (fresh source): $(timed "$old" copy --from "$(uri old_pg)" --to "$scratch/old-$round.db")"
    rm -f "$scratch"/*.db*
done

# PostgreSQL -> SQLite from one vacuumed source, interleaved, with the disk quiet before each run.
"$new" copy --quiet --from "$source" --to "$(fresh src_pg)" >/dev/null
psql "${admin/\/postgres\?//src_pg?}" -qAtc "VACUUM ANALYZE tasks"
for round in 1 2 3; do
    for which in old new; do
        binary=$new; [ "$which" = old ] && binary=$old
        rm -f "$scratch"/*.db*; sync; psql "$admin" -qAtc "CHECKPOINT"; sleep 1
        echo "round $round $which PostgreSQL -> SQLite (vacuumed source): $(timed "$binary" copy --from "$(uri src_pg)" --to "$scratch/$which.db")"
    done
done
rm -f "$scratch"/*.db*

if [ -n "$big" ]; then
    echo "1M new SQLite -> PostgreSQL: $(timed "$new" copy --quiet --from "$big" --to "$(fresh big_pg)")"
    echo "1M new PostgreSQL -> SQLite: $(timed "$new" copy --quiet --from "$(uri big_pg)" --to "$scratch/big.db")"
fi
for name in own_path new_pg old_pg src_pg big_pg; do psql "$admin" -qAtc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1; done
