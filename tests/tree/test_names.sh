#!/usr/bin/env bash
# A Catch2 test name may not hold a ';': catch_discover_tests splits the name there, the test's
# filter matches nothing and it would never run (every test runs with -w NoTests, which fails such
# a test; this names it before a build). Usage: test_names.sh SOURCE_DIR
set -euo pipefail
bad="$(grep -rnE 'TEST_CASE\("[^"]*;' "$1/tests" --include='*.cc' || true)"
bad+="$(grep -rnE -A2 'TEST_CASE\(' "$1/tests" --include='*.cc' | grep -E '^[^:]*-[0-9]+-\s*"[^"]*;[^"]*"' || true)"
if [ -n "$bad" ]; then
  echo "test names with ';' (catch_discover_tests splits them: use ',' instead):"
  echo "$bad"
  exit 1
fi
echo "no test name holds a ';'"
