#!/usr/bin/env bash
# Set up, build, then run the demo or the tests, on Debian 12 as root.
#   scripts/dev.sh run    install what is missing, build, start refahd with a demo programme and venues posting
#   scripts/dev.sh test   install what is missing, build, run the default test suite (ctest)
#   scripts/dev.sh build  install what is missing and build
#   scripts/dev.sh sanitize  the default suite under ASan+UBSan and libFuzzer's short campaigns (clang),
#                         then the server and writer tests under TSan (what .ci/run adds to `test`)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  run|test|build|sanitize) ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

# Debian 12 packages the build uses (README.md names each library and why).
packages=(g++ cmake ninja-build ccache pkg-config
          librocksdb-dev libflatbuffers-dev flatbuffers-compiler libssl-dev libcli11-dev catch2
          libboost-dev libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev libsystemd-dev
          libsodium-dev  # argon2id of the console's passwords
          libpq-dev   # refah-load pg: the PostgreSQL baseline's client (scripts/bench_postgres.sh)
          libnats-dev nats-server  # the replicated log on NATS JetStream, and the cluster its tests start
          libjs-chart.js # the console's charts (served by refahd, no CDN)
          systemd     # systemd-analyze, which the package test runs on the unit
          python3-flatbuffers  # the Python client's test (tests/python/)
          chromium chromium-driver  # the dashboard's browser test, headless (tests/console/)
          python3-selenium  # drives that Chromium through chromium-driver (tests/console/)
          fonts-noto-core  # Noto Sans Arabic: Persian that reads well in the dashboard (and its screenshots)
          gnuplot-nox # refah-audit report --plots draws its charts with it
          prometheus) # promtool, for the test of the /metrics format
# The sanitizer and fuzzing builds (clang with libFuzzer) only for `sanitize`.
if [ "$1" = sanitize ]; then packages+=(clang-14 libclang-rt-14-dev llvm-14); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or install them first)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ccache hits across checkouts (a CI copy in /tmp reuses what a developer's tree compiled).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1

if [ "$1" = sanitize ]; then
  # clang + ASan + UBSan + libFuzzer: the default suite, then the short fuzz campaigns.
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz
  ctest --preset fuzz-suite
  ctest --preset fuzz
  # TSan (gcc): the server and the writer, where the threads are.
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target refah_tests refah_server_tests refahd refahctl refah-audit
  exec ctest --preset tsan-server
fi

cmake --preset default >/dev/null
cmake --build --preset default

case "$1" in
  run)  exec ./build/server/refahd --demo --data "${REFAH_DEMO_DATA:-data/demo}" --status-every 5 ;;
  test) exec ctest --preset default -j2 ;;
  build) ;;
esac
