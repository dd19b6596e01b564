#!/usr/bin/env bash
# Schemas are permanent: ledger/schema/events.fbs (the log), server/schema/protocol.fbs (the wire)
# and server/schema/replication.fbs (the replicated log) may only grow at the end of their tables and unions. `flatc --conform` checks each against
# its saved copy in tests/data/schema/ (refresh a copy, `cp` over it, once a change has passed).
# The check is shown live first: a copy with a field put in front of its first table's must be
# refused, or this test fails.
# Usage: schemas_only_grow.sh FLATC SOURCE_DIR
set -euo pipefail
flatc="$1" src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for pair in "ledger/schema/events.fbs events.fbs" "server/schema/protocol.fbs protocol.fbs" \
            "server/schema/replication.fbs replication.fbs"; do
  set -- $pair
  schema="$src/$1" saved="$src/tests/data/schema/$2"
  if ! out="$("$flatc" --conform "$saved" -o "$tmp" "$schema" 2>&1)"; then
    echo "$1 does not conform to its saved copy tests/data/schema/$2 (fields and members only at the end):"
    echo "$out"
    exit 1
  fi
  # A field inserted before the first field of the first table: a schema that must be refused.
  awk 'done == 0 && /^table [A-Za-z]+ *\{/ { sub(/\{/, "{ inserted_in_front:int;"); done = 1 } { print }' \
    "$schema" >"$tmp/broken.fbs"
  if "$flatc" --conform "$saved" -o "$tmp" "$tmp/broken.fbs" >/dev/null 2>&1; then
    echo "flatc --conform accepted $1 with a field inserted in front: the check cannot fail"
    exit 1
  fi
  echo "$1 conforms to tests/data/schema/$2; a field inserted in front is refused"
done
