#!/usr/bin/env bash
# A Catch2 test name may not hold a ';': catch_discover_tests splits the name there, the test's
# filter matches nothing and it would never run (every test runs with -w NoTests, which fails such
# a test; this names it before a build). Nor may its first ": " come late: Catch2's console
# reporter indents a long name's next lines to just after it, and past its 79 columns an assertion
# inside Catch aborts the test binary while it reports a failure, leaving the processes the test
# started running. Usage: test_names.sh SOURCE_DIR
set -euo pipefail
bad="$(grep -rnE 'TEST_CASE\("[^"]*;' "$1/tests" --include='*.cc' || true)"
bad+="$(grep -rnE -A2 'TEST_CASE\(' "$1/tests" --include='*.cc' | grep -E '^[^:]*-[0-9]+-\s*"[^"]*;[^"]*"' || true)"
if [ -n "$bad" ]; then
  echo "test names with ';' (catch_discover_tests splits them: use ',' instead):"
  echo "$bad"
  exit 1
fi
late="$(python3 - "$1/tests" <<'PY'
import pathlib, re, sys
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.cc")):
    text = f.read_text(errors="replace")
    for m in re.finditer(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', text):
        name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        if name.find(": ") >= 75:
            print(f"{f}: {name[:90]}...")
PY
)"
if [ -n "$late" ]; then
  echo "test names whose first ': ' is at column 75 or later (Catch2's console reporter aborts on them):"
  echo "$late"
  exit 1
fi
echo "no test name holds a ';', and every first ': ' comes before column 75"
