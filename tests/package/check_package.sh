#!/usr/bin/env bash
# The .deb (cmake/install.cmake, packaging/): cpack builds it into a temporary directory, dpkg-deb
# unpacks it into a temporary root, and then:
#   - every executable in it runs and prints its version (--version),
#   - the census, the default config (a conffile), the unit, sysusers and tmpfiles entries are in place,
#   - every shared library the executables load belongs to a Debian package that Depends names,
#   - refahd from the package runs its demo on the packaged census and stops cleanly on SIGTERM,
#   - systemd-analyze verify accepts the unit (its ExecStart pointed at the unpacked refahd),
#   - systemd-sysusers and systemd-tmpfiles, run on the unpacked root, make the user and directories.
# Skips (exit 77) with a message when a tool it needs is missing; scripts/dev.sh installs them.
#   check_package.sh BUILD_DIR
set -euo pipefail
build="$(cd "${1:?usage: check_package.sh BUILD_DIR}" && pwd)"
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }
for tool in cpack dpkg-deb dpkg readelf ldd; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/dev.sh test installs what this test needs)"
done
prefix="$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")"
tmp="$(mktemp -d /tmp/refah-package-XXXXXX)"
demo_pid=""
cleanup() { [ -n "$demo_pid" ] && kill -9 "$demo_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Build and unpack.
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack"; }
deb="$(ls "$tmp"/out/*.deb)"
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$tmp/control"
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB), Depends: $(dpkg-deb -f "$deb" Depends)"

# The executables run.
for exe in refahd refahctl refah-audit refah-load; do
  out="$("$root$prefix/bin/$exe" --version)" || fail "$exe --version exited $?"
  [[ "$out" =~ ^$exe\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-z-]+\)$ ]] || fail "$exe --version printed: $out"
  echo "$out"
done

# The files are in place.
for f in "$prefix/share/refah/khuzestan-counties-2016.csv" /etc/refah/refahd.toml \
         "$prefix/lib/systemd/system/refahd.service" "$prefix/lib/sysusers.d/refah.conf" \
         "$prefix/lib/tmpfiles.d/refah.conf" "$prefix/share/doc/refah/OPERATIONS.md"; do
  [ -f "$root$f" ] || fail "$f is not in the package"
done
grep -qx /etc/refah/refahd.toml "$tmp/control/conffiles" || fail "/etc/refah/refahd.toml is not a conffile"
[ -x "$tmp/control/postinst" ] || fail "no postinst"
grep -q "^ExecStart=$prefix/bin/refahd --config /etc/refah/refahd.toml$" "$root$prefix/lib/systemd/system/refahd.service" ||
  fail "the unit's ExecStart does not name $prefix/bin/refahd"

# Every library the executables link (their NEEDED entries; what those load in turn their own
# packages' Depends bring) comes from a package in Depends (dpkg -S on the file, with and without
# /usr: Debian 12 merges /lib into /usr/lib, and dpkg knows one of the two paths).
depends=" $(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/[,|]/ /g') "
declare -A linked=()  # library path -> the executables linking it
for exe in refahd refahctl refah-audit refah-load; do
  bin="$root$prefix/bin/$exe"
  loaded="$(ldd "$bin")"
  for soname in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    lib="$(awk -v n="$soname" '$1 == n && $3 ~ /^\// {print $3}' <<<"$loaded")"
    [ -n "$lib" ] || fail "$exe needs $soname, which is not installed here"
    linked[$lib]+="$exe "
  done
done
# One dpkg -S for every spelling of every path ("package:arch: path" for those it knows).
candidates=()
for lib in "${!linked[@]}"; do candidates+=("$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr$lib"); done
owners="$(dpkg -S "${candidates[@]}" 2>/dev/null || true)"
for lib in "${!linked[@]}"; do
  pkg=""
  for p in "$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr$lib"; do
    pkg="$(awk -v p="$p" -F': ' '$2 == p {sub(/:.*/, "", $1); print $1; exit}' <<<"$owners")"
    [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || fail "${linked[$lib]}link $lib, which no Debian package owns"
  [[ "$depends" == *" $pkg "* ]] || fail "${linked[$lib]}link $lib from $pkg, which Depends does not name"
done
echo "every library the executables link is from a package in Depends"

# Runs the packaged refahd with the arguments after LOG until it logs "serving", requires the
# line PATTERN in LOG (else fails with WHAT), then stops it with SIGTERM, which must exit 0.
serve_and_stop() {
  local log="$1" pattern="$2" what="$3"
  shift 3
  "$root$prefix/bin/refahd" "$@" >"$log" 2>&1 &
  demo_pid=$!
  for _ in $(seq 100); do grep -q "serving" "$log" && break; sleep 0.1; done
  grep -q "$pattern" "$log" || { cat "$log"; fail "$what"; }
  kill -TERM "$demo_pid"
  wait "$demo_pid" || { cat "$log"; fail "the packaged refahd exited $? on SIGTERM"; }
  demo_pid=""
}

# refahd from the package: its demo reads the packaged census, and SIGTERM stops it with status 0.
serve_and_stop "$tmp/demo.log" "census $root$prefix/share/refah/khuzestan-counties-2016.csv" \
  "the packaged refahd's demo did not start on the packaged census" \
  --demo --data "$tmp/demo" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --status-every 0 --demo-venues 0
echo "the packaged refahd ran its demo on the packaged census and stopped on SIGTERM"

# The packaged config serves TLS with the certificate postinst makes (its tls-cert command, run
# here into a copy of /etc/refah), and the postinst names this package's refahd.
grep -q "$prefix/bin/refahd tls-cert --cert /etc/refah/tls/refahd.crt --key /etc/refah/tls/refahd.key" \
  "$tmp/control/postinst" || fail "postinst does not make /etc/refah/tls/refahd.crt with $prefix/bin/refahd"
etc="$tmp/etc-refah"
mkdir -p "$etc/tls"
cp "$root/etc/refah/refahd.toml" "$etc/"
"$root$prefix/bin/refahd" tls-cert --cert "$etc/tls/refahd.crt" --key "$etc/tls/refahd.key" --name localhost \
  --name 127.0.0.1 >/dev/null || fail "refahd tls-cert failed"
printf '[[client]]\nid = 1\nname = "office"\nrole = "admin"\nsecret = "%s"\n' "$(printf '11%.0s' $(seq 32))" \
  >"$etc/keys.toml"
chmod 600 "$etc/keys.toml"
serve_and_stop "$tmp/conf.log" "tls: 1.3 with $etc/tls/refahd.crt" \
  "refahd with the packaged config did not serve TLS with tls/refahd.crt" \
  --config "$etc/refahd.toml" --data "$tmp/conf-data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
echo "the packaged config serves TLS 1.3 with a certificate made as postinst makes it"

# The unit, as systemd reads it.
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (package: systemd); the checks above passed"
done
mkdir -p "$tmp/units"
sed "s|^ExecStart=$prefix/bin/refahd|ExecStart=$root$prefix/bin/refahd|" "$root$prefix/lib/systemd/system/refahd.service" \
  >"$tmp/units/refahd.service"
if ! out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/units/refahd.service" 2>&1)"; then
  echo "$out"
  fail "systemd-analyze verify refused the unit"
fi
if grep -q "refahd.service" <<<"$out"; then
  echo "$out"
  fail "systemd-analyze verify warned about the unit"
fi
echo "systemd-analyze verify accepts refahd.service"

# The sysusers and tmpfiles entries, applied to the unpacked root as postinst applies them.
systemd-sysusers --root="$root" "$root$prefix/lib/sysusers.d/refah.conf" >/dev/null 2>&1 || fail "systemd-sysusers"
grep -q '^refah:x:[0-9]*:[0-9]*:[^:]*:/var/lib/refah:/usr/sbin/nologin$' "$root/etc/passwd" ||
  fail "systemd-sysusers made no refah user with home /var/lib/refah"
uid="$(awk -F: '$1 == "refah" {print $3}' "$root/etc/passwd")"
systemd-tmpfiles --root="$root" --create "$root$prefix/lib/tmpfiles.d/refah.conf" || fail "systemd-tmpfiles"
[ "$(stat -c '%a %u' "$root/var/lib/refah")" = "750 $uid" ] || fail "/var/lib/refah is not 0750 refah's"
[ "$(stat -c '%a %u' "$root/etc/refah")" = "750 0" ] || fail "/etc/refah is not 0750 root's"
echo "systemd-sysusers and systemd-tmpfiles make the refah user, /var/lib/refah and /etc/refah"
echo "package: all checks passed"
