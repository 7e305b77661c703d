#!/usr/bin/env bash
# Tests the .deb as an operator meets it: installed with dpkg into a clean Debian root that has
# no Swift toolchain, the service started by that root's own systemd from the installed unit
# (every hardening option in force), ready on /readyz, stopped with SIGTERM and exit status 0;
# then removed, installed again (it starts by itself, its kit being in place), installed over
# itself as an upgrade is (it restarts) and purged.
#
# The root: `debootstrap --variant=minbase` of this machine's Debian release, with systemd and
# the packages the .deb depends on, made once and cached in .package-test/ (about 40 s and
# 250 MB; made again when the .deb's Depends change). Each run boots it with systemd-nspawn
# --volatile=overlay: the cached root stays as debootstrap left it, every change of the run is
# gone when the container stops. The container shares this machine's network: the service
# listens on 127.0.0.1 only, on two free ports, and nothing here dials anything else.
#
# Usage: scripts/package-test.sh DEB (as root; `make package-test` gives the one `make release`
# made). Prints each check, then the figures: seconds to install and start until ready, the
# .deb's, the tarball's and each binary's size. Exit status 0 only if every check passed.
#
# Only for trying this script out with binaries that need the Swift runtime (a `make build`
# packaged with FEDATTN_ALLOW_SWIFT_RUNTIME=1 scripts/release.sh):
#   FEDATTN_ALLOW_SWIFT_RUNTIME=1  binds this machine's /opt/swift into the root, read-only;
#   FEDATTN_SERVE_FLAGS=1          a drop-in gives serve its settings as flags, for a build from
#                                  before --config took every flag of serve.
# Either makes the run end with status 1: what it shows is not what the package does.
set -euo pipefail

deb="${1:-}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
  echo "usage: scripts/package-test.sh DEB  (no package at '${deb}': make release first, or give the .deb's path)" >&2
  exit 2
fi
deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/.package-test"
allow_runtime="${FEDATTN_ALLOW_SWIFT_RUNTIME:-}"
serve_flags="${FEDATTN_SERVE_FLAGS:-}"
unit=fedattn-coordinator.service

passed=0
step() { echo "package-test: $*"; }
pass() { passed=$((passed + 1)); echo "  ok: $*"; }
fail() {
  echo "package-test: FAILED: $*" >&2
  echo "$passed passed, 1 failed" >&2
  exit 1
}
now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
megabytes() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# --- What this needs ---------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "run as root: debootstrap, systemd-nspawn and nsenter need it"
missing=()
for tool in debootstrap:debootstrap systemd-nspawn:systemd-container nsenter:util-linux curl:curl dpkg-deb:dpkg; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "installing what is missing: ${missing[*]}"
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null) || fail "could not install ${missing[*]} (apt-get)"
fi

work="$(mktemp -d /tmp/fedattn-package-test.XXXXXX)"
share="$work/share"   # bound read-only into the root at /mnt/package-test
mkdir -p "$share"
nspawn_pid=""
# systemd-nspawn still runs (not ended, nor ended and waiting to be reaped).
nspawn_runs() { [ -n "$nspawn_pid" ] && [ -n "$(ps -o stat= -p "$nspawn_pid" | grep -v '^Z' || true)" ]; }
cleanup() {
  local status=$?
  if nspawn_runs; then
    # SIGTERM asks systemd-nspawn to power the container off; its services stop first.
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 60); do nspawn_runs || break; sleep 0.5; done
    if nspawn_runs; then
      echo "package-test: the container did not power off within 30 s: killing systemd-nspawn ($nspawn_pid)" >&2
      kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    rm -rf "$work/extracted" "$share"
    echo "package-test: logs kept in $work (container.log: the container's console; *.log: each step)" >&2
  fi
}
trap cleanup EXIT

# --- 1. The package ------------------------------------------------------------------------
step "1. the package $deb"
package="$(dpkg-deb -f "$deb" Package)" || fail "dpkg-deb cannot read $deb"
[ "$package" = fedattention ] || fail "$deb is package '$package', not fedattention"
version="$(dpkg-deb -f "$deb" Version)"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "  fedattention $version ($(dpkg-deb -f "$deb" Architecture)); Depends: $depends"
dpkg-deb -x "$deb" "$work/extracted" || fail "dpkg-deb -x $deb failed"
runtime_needed=""
if "$repo/scripts/check-no-swift-runtime.sh" "$work/extracted/usr/bin/fedattn-coordinator" "$work/extracted/usr/bin/fedattn-client"; then
  pass "ldd: the packaged binaries load no Swift runtime library"
elif [ "$allow_runtime" = 1 ]; then
  runtime_needed=1
  echo "  WARNING: the binaries need the Swift runtime; FEDATTN_ALLOW_SWIFT_RUNTIME=1 binds /opt/swift into the root"
else
  fail "the binaries need the Swift runtime: build them with make release (then make package-test)"
fi
cp "$deb" "$share/fedattention.deb"
cp "$repo/scripts/check-no-swift-runtime.sh" "$share/"

# --- 2. The clean root ---------------------------------------------------------------------
# shellcheck source=/dev/null
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
mirror="${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"
# systemd to run the unit, dbus for systemctl, and the .deb's Depends (first of alternatives).
packages="$(printf 'systemd\nsystemd-sysv\ndbus\n%s\n' "$(tr ',' '\n' <<<"$depends" | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g')" |
  grep . | sort -u | paste -sd, -)"
root="$cache/$suite-minbase-$(printf '%s %s' "$suite" "$packages" | sha1sum | cut -c1-12)"
step "2. the clean root: debootstrap --variant=minbase $suite with $packages"
if [ -d "$root" ]; then
  echo "  cached: $root"
else
  mkdir -p "$cache"
  for old in "$cache/$suite-minbase-"*; do
    [ -d "$old" ] && { echo "  removing a root made for other packages: $old"; rm -rf "${old:?}"; }
  done
  started="$(now)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    fail "debootstrap $suite from $mirror failed: see $cache/debootstrap.log ($(tail -1 "$cache/debootstrap.log"))"
  mv "$root.partial" "$root"
  echo "  made in $(seconds_since "$started") s: $root (log: $cache/debootstrap.log)"
fi

# --- 3. Boot it ----------------------------------------------------------------------------
step "3. booting it (systemd-nspawn --volatile=overlay --boot)"
binds=(--bind-ro="$share:/mnt/package-test")
[ -n "$runtime_needed" ] && binds+=(--bind-ro=/opt/swift)
started="$(now)"
systemd-nspawn --quiet --directory="$root" --volatile=overlay --boot --register=no --keep-unit \
  --machine="fedattn-package-test-$$" "${binds[@]}" </dev/null >"$work/container.log" 2>&1 &
nspawn_pid=$!
init_pid=""
for _ in $(seq 100); do
  nspawn_runs || fail "systemd-nspawn ended at once: $(tail -5 "$work/container.log")"
  init_pid="$(ps -o pid= --ppid "$nspawn_pid" | tr -d ' ' | head -1 || true)"
  [ -n "$init_pid" ] && [ "$(cat "/proc/$init_pid/comm" 2>/dev/null)" = systemd ] && break
  init_pid=""
  sleep 0.1
done
[ -n "$init_pid" ] || fail "no systemd started in the container within 10 s: $(tail -5 "$work/container.log")"
# A command inside the container: its namespaces, its files, a clean environment.
in_root() { nsenter --target "$init_pid" --all -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
booted=""
for _ in $(seq 120); do
  booted="$(in_root systemctl is-system-running 2>/dev/null || true)"
  case "$booted" in running | degraded) break ;; esac
  sleep 0.5
done
case "$booted" in
  running) pass "the container's systemd is up ($(seconds_since "$started") s)" ;;
  degraded) pass "the container's systemd is up, degraded: $(in_root systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')" ;;
  *) fail "the container's systemd did not finish booting in 60 s (is-system-running: '$booted'): see $work/container.log" ;;
esac

# --- 4. No Swift in it ---------------------------------------------------------------------
step "4. the root holds no Swift runtime"
swift_files="$(in_root find / -xdev \( -name 'libswift*' -o -name 'libFoundation*.so*' -o -name 'libdispatch.so*' \) -print)"
[ -z "$swift_files" ] || fail "the clean root holds Swift runtime files: $swift_files"
pass "no libswift*, libFoundation*, libdispatch in the root's file system"
if [ -z "$runtime_needed" ]; then
  in_root test ! -e /opt/swift || fail "the clean root has /opt/swift"
  pass "no /opt/swift"
fi

# --- 5. Install ----------------------------------------------------------------------------
step "5. dpkg -i"
install_started="$(now)"
in_root dpkg -i /mnt/package-test/fedattention.deb >"$work/dpkg-install.log" 2>&1 ||
  fail "dpkg -i failed (a Depends the root lacks is named here): $(tail -5 "$work/dpkg-install.log")"
pass "installed in $(seconds_since "$install_started") s"
fedattn_uid="$(in_root getent passwd fedattn | cut -d: -f3)"
[ -n "$fedattn_uid" ] || fail "postinst made no user fedattn"
pass "postinst made the system user fedattn (uid $fedattn_uid, shell $(in_root getent passwd fedattn | cut -d: -f7))"
owner="$(in_root stat -c '%U:%G %a' /var/lib/fedattention)" || fail "postinst made no /var/lib/fedattention"
[ "$owner" = "fedattn:fedattn 750" ] || fail "/var/lib/fedattention is '$owner', not fedattn:fedattn 750"
pass "/var/lib/fedattention: $owner"
owner="$(in_root stat -c '%U:%G %a' /etc/fedattention /etc/fedattention/coordinator.json | tr '\n' ' ')"
[ "$owner" = "root:fedattn 750 root:fedattn 640 " ] || fail "/etc/fedattention and its coordinator.json are '$owner', not root:fedattn 750 and 640"
pass "/etc/fedattention root:fedattn 750, coordinator.json 640"
enabled="$(in_root systemctl is-enabled "$unit" || true)"
[ "$enabled" = enabled ] || fail "$unit is '$enabled' after install, not enabled"
active="$(in_root systemctl is-active "$unit" || true)"
[ "$active" = inactive ] || fail "$unit is '$active' after install without a kit, not inactive (it should wait for its certificates)"
pass "$unit enabled, not started without its kit (postinst said: $(grep -m1 'not started' "$work/dpkg-install.log" | cut -c1-60)...)"
in_root systemd-analyze verify --man=no "$unit" >"$work/verify.log" 2>&1 || fail "systemd-analyze verify $unit: $(cat "$work/verify.log")"
pass "systemd-analyze verify: the installed unit is valid"
exposure="$(in_root systemd-analyze security "$unit" --no-pager | tail -1)" || fail "systemd-analyze security $unit failed"
pass "systemd-analyze security: ${exposure#→ }"
if in_root bash /mnt/package-test/check-no-swift-runtime.sh /usr/bin/fedattn-coordinator /usr/bin/fedattn-client; then
  pass "ldd in the root: the installed binaries find every library, none of Swift's"
elif [ -n "$runtime_needed" ]; then
  echo "  NOT PROVEN: the installed binaries load the Swift runtime from the bound /opt/swift"
else
  fail "ldd in the root: the installed binaries cannot run there (above)"
fi
said="$(in_root runuser -u fedattn -- fedattn-coordinator --version)" || fail "fedattn-coordinator --version failed in the root"
[[ "$said" == "fedattn-coordinator $version "* ]] || fail "the installed fedattn-coordinator says '$said', the package is version $version"
pass "as fedattn: $said; $(in_root runuser -u fedattn -- fedattn-client --version)"
in_root test -s /usr/share/man/man1/fedattn-coordinator.1.gz -a -s /usr/share/doc/fedattention/operations.md ||
  fail "no man page fedattn-coordinator(1) or no /usr/share/doc/fedattention/operations.md installed"
pass "man pages and /usr/share/doc/fedattention installed"

# --- 6. Configure as an operator does ------------------------------------------------------
step "6. the coordinator's kit into /etc/fedattention, the example settings edited"
free_port() {
  local port
  for port in $(shuf -i 20000-60000 -n 100); do
    # A refused connection: nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  fail "no free port on 127.0.0.1 among 100 tried"
}
port="$(free_port)"
metrics_port="$(free_port)"
[ "$port" != "$metrics_port" ] || metrics_port="$(free_port)"
in_root fedattn-coordinator provision --out /root/federation --coordinator-host 127.0.0.1 localhost \
  --silo shop video news --port "$port" >"$work/provision.log" 2>&1 || fail "provision failed: $(tail -3 "$work/provision.log")"
in_root sh -euc '
  install -d -o root -g fedattn -m 0750 /etc/fedattention/coordinator
  install -o root -g fedattn -m 0640 /root/federation/coordinator/cert.pem /root/federation/coordinator/key.pem \
    /root/federation/coordinator/ca.pem /etc/fedattention/coordinator/
  install -o root -g fedattn -m 0640 /root/federation/members.txt /root/federation/revoked.txt /etc/fedattention/' ||
  fail "copying the kit into /etc/fedattention failed"
config=/etc/fedattention/coordinator.json
# This machine only: 127.0.0.1 and the two free ports, in place of the example's 0.0.0.0, 7443, 7444.
in_root sed -i -e 's/"host": "0.0.0.0"/"host": "127.0.0.1"/' -e "s/\"port\": 7443/\"port\": $port/" \
  -e "s/\"metrics_port\": 7444/\"metrics_port\": $metrics_port/" "$config"
for want in "\"host\": \"127.0.0.1\"" "\"port\": $port" "\"metrics_port\": $metrics_port" "\"metrics_host\": \"127.0.0.1\""; do
  in_root grep -qF "$want" "$config" ||
    fail "the installed $config has no line to make '$want' (packaging/coordinator.json changed?): $(in_root cat "$config")"
done
pass "kit for silos shop, video, news; $config: 127.0.0.1:$port, metrics 127.0.0.1:$metrics_port"
if [ "$serve_flags" = 1 ]; then
  in_root sh -euc "mkdir -p /etc/systemd/system/$unit.d && cat >/etc/systemd/system/$unit.d/package-test-flags.conf <<EOF
[Service]
ExecStart=
ExecStart=/usr/bin/fedattn-coordinator serve --state /var/lib/fedattention --cert /etc/fedattention/coordinator/cert.pem --key /etc/fedattention/coordinator/key.pem --ca /etc/fedattention/coordinator/ca.pem --members /etc/fedattention/members.txt --host 127.0.0.1 --port $port --metrics-host 127.0.0.1 --metrics-port $metrics_port --rounds 20 --min-clients 3 --quorum 2
EOF
systemctl daemon-reload"
  echo "  NOT PROVEN: FEDATTN_SERVE_FLAGS=1: a drop-in gives serve its settings as flags, not through $config"
fi

# --- 7. Start, and wait until ready --------------------------------------------------------
journal() { in_root journalctl -u "$unit" --no-pager -o cat | tail -"${1:-15}"; }
# Polls /readyz, at most 150 times 0.2 s apart; fails at once if the unit failed.
wait_ready() {
  local answer state
  for _ in $(seq 150); do
    if answer="$(curl -fsS --max-time 2 "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null)"; then
      echo "$answer"
      return 0
    fi
    state="$(in_root systemctl show -P ActiveState "$unit")"
    if [ "$state" = failed ] || [ "$state" = inactive ]; then
      local log
      log="$(journal 15)"
      if grep -qE "unknown setting|mutual TLS needs --cert" <<<"$log"; then
        echo "  this build's serve --config does not take serve's own settings (cert, key, ca, host, port, ...):" >&2
        echo "  the unit needs a build where it does (docs/operations.md#the-config-file); build again (make release)" >&2
      fi
      fail "$unit is $state, not ready; its journal:
$log"
    fi
    sleep 0.2
  done
  fail "no 200 from http://127.0.0.1:$metrics_port/readyz within 30 s; the journal:
$(journal 15)"
}
step "7. systemctl start $unit"
in_root systemctl start "$unit" || fail "systemctl start $unit failed: $(journal 15)"
ready="$(wait_ready)"
ready_seconds="$(seconds_since "$install_started")"
pass "/readyz: $ready"
pass "install, configure and start until ready: $ready_seconds s"

# --- 8. What runs, and how -----------------------------------------------------------------
step "8. the running service"
main_pid="$(in_root systemctl show -P MainPID "$unit")"
status="$(in_root cat "/proc/$main_pid/status")" || fail "cannot read /proc/$main_pid/status in the root"
field() { awk -v f="$1:" '$1 == f { print $2 }' <<<"$status"; }
[ "$(field Uid)" = "$fedattn_uid" ] || fail "serve runs as uid $(field Uid), not fedattn ($fedattn_uid)"
[ "$(field NoNewPrivs)" = 1 ] || fail "serve runs without NoNewPrivs"
[ "$(field Seccomp)" = 2 ] || fail "serve runs without a seccomp filter (Seccomp: $(field Seccomp))"
[ "$(field CapEff)" = 0000000000000000 ] || fail "serve runs with capabilities $(field CapEff)"
pass "serve runs as fedattn, NoNewPrivs 1, seccomp filter on, no capabilities (pid $main_pid in the root)"
metrics="$(curl -fsS --max-time 2 "http://127.0.0.1:$metrics_port/metrics")" || fail "no /metrics on 127.0.0.1:$metrics_port"
grep -q "^fedattn_build_info{.*version=\"$version\"" <<<"$metrics" || fail "/metrics has no fedattn_build_info of version $version"
pass "/metrics: $(grep '^fedattn_build_info' <<<"$metrics")"
# The gRPC port with mutual TLS: the silo's certificate gets an HTTP/2 answer; none, no handshake.
kit="/proc/$init_pid/root/root/federation/silos/shop"
code="$(curl -sS --max-time 5 --http2-prior-knowledge -o /dev/null -w '%{http_code}' --cacert "$kit/ca.pem" \
  --cert "$kit/cert.pem" --key "$kit/key.pem" "https://127.0.0.1:$port/" 2>"$work/curl-tls.log")" ||
  fail "a TLS connection with silo shop's certificate to 127.0.0.1:$port failed: $(cat "$work/curl-tls.log")"
pass "127.0.0.1:$port answers silo shop's certificate (HTTP/2 status $code)"
if curl -sS --max-time 5 --http2-prior-knowledge -o /dev/null --cacert "$kit/ca.pem" "https://127.0.0.1:$port/" 2>/dev/null; then
  fail "127.0.0.1:$port answered a client without a certificate"
fi
pass "127.0.0.1:$port refuses a client without a certificate"

# --- 9. Stop -------------------------------------------------------------------------------
# The Nth stop of the service (systemd's SIGTERM) ended with exit status 0 and serve's own
# line: systemd says "Deactivated successfully" only of a process that exited with status 0.
check_clean_stop() {
  local log stops clean
  log="$(in_root journalctl -u "$unit" --no-pager -o cat)"
  stops="$(grep -c 'asked to stop (SIGTERM)' <<<"$log" || true)"
  clean="$(grep -c 'Deactivated successfully' <<<"$log" || true)"
  if [ "$stops" -lt "$2" ] || [ "$clean" -lt "$2" ] || grep -q 'Main process exited' <<<"$log"; then
    fail "$1: stop $2 of the service: $stops 'asked to stop (SIGTERM)' and $clean 'Deactivated successfully' in its journal; the journal:
$(journal 10)"
  fi
}
step "9. systemctl stop $unit (SIGTERM)"
started="$(now)"
in_root systemctl stop "$unit" || fail "systemctl stop $unit failed"
stop_seconds="$(seconds_since "$started")"
check_clean_stop "systemctl stop" 1
result="$(in_root systemctl show -P Result "$unit") $(in_root systemctl show -P ExecMainCode "$unit") $(in_root systemctl show -P ExecMainStatus "$unit")"
[ "$result" = "success 1 0" ] || fail "systemctl stop: Result, ExecMainCode, ExecMainStatus are '$result', not 'success 1 0' (exited, status 0)"
pass "stopped in $stop_seconds s, exit status 0: $(journal 40 | grep -m1 -o 'asked to stop (SIGTERM)[^;]*')"

# --- 10. Remove, install again, purge --------------------------------------------------------
step "10. dpkg --remove; dpkg -i again (the kit in place: it starts by itself), and again over itself; dpkg --purge"
in_root dpkg --remove fedattention >"$work/dpkg-remove.log" 2>&1 || fail "dpkg --remove failed: $(tail -5 "$work/dpkg-remove.log")"
in_root test ! -e /usr/bin/fedattn-coordinator || fail "/usr/bin/fedattn-coordinator is still there after dpkg --remove"
enabled="$(in_root systemctl is-enabled "$unit" 2>/dev/null || true)"
[ "$enabled" = masked ] || fail "$unit is '$enabled' after dpkg --remove, not masked"
in_root test -d /var/lib/fedattention -a -e /etc/fedattention/coordinator.json || fail "dpkg --remove took the state folder or the settings"
pass "removed: binaries gone, $unit masked, /etc/fedattention and /var/lib/fedattention kept"
reinstall_started="$(now)"
in_root dpkg -i /mnt/package-test/fedattention.deb >"$work/dpkg-reinstall.log" 2>&1 ||
  fail "dpkg -i after --remove failed: $(tail -5 "$work/dpkg-reinstall.log")"
ready="$(wait_ready)"
reinstall_seconds="$(seconds_since "$reinstall_started")"
pass "installed again: postinst started it, ready in $reinstall_seconds s ($ready)"
# An upgrade's path (prerm upgrade, postinst configure with the old version): the same .deb
# over the running service restarts it cleanly.
in_root dpkg -i /mnt/package-test/fedattention.deb >"$work/dpkg-upgrade.log" 2>&1 ||
  fail "dpkg -i over the installed package failed: $(tail -5 "$work/dpkg-upgrade.log")"
check_clean_stop "dpkg -i over the running service (postinst restarts it)" 2
ready="$(wait_ready)"
pass "installed over itself (an upgrade's path): restarted, stopped with status 0 and ready again"
in_root dpkg --purge fedattention >"$work/dpkg-purge.log" 2>&1 || fail "dpkg --purge failed: $(tail -5 "$work/dpkg-purge.log")"
check_clean_stop "dpkg --purge (prerm stops it)" 3
in_root test ! -e /etc/fedattention/coordinator.json || fail "dpkg --purge left the conffile /etc/fedattention/coordinator.json"
in_root test -d /var/lib/fedattention || fail "dpkg --purge took /var/lib/fedattention"
pass "purged: prerm stopped it (exit status 0), coordinator.json gone, the state folder kept ($(in_root ls /var/lib/fedattention | tr '\n' ' '))"

# --- The figures ---------------------------------------------------------------------------
tarball="$(dirname "$deb")/fedattention-$version-$(dpkg-deb -f "$deb" Architecture).tar.gz"
step "figures"
echo "  seconds from dpkg -i to /readyz 200 (install, kit and settings, start): $ready_seconds"
echo "  seconds from dpkg -i to /readyz 200, installed again with the kit in place: $reinstall_seconds"
echo "  seconds to stop (systemctl stop, SIGTERM): $stop_seconds"
echo "  $(basename "$deb"): $(megabytes "$deb")"
if [ -f "$tarball" ]; then echo "  $(basename "$tarball"): $(megabytes "$tarball")"; else echo "  (no tarball beside the .deb: $tarball)"; fi
for executable in fedattn-coordinator fedattn-client; do
  echo "  $executable as installed: $(megabytes "$work/extracted/usr/bin/$executable")"
done

if [ -n "$runtime_needed" ] || [ "$serve_flags" = 1 ]; then
  [ -n "$runtime_needed" ] && echo "package-test: NOT PROVEN: the binaries need the Swift runtime (FEDATTN_ALLOW_SWIFT_RUNTIME=1)" >&2
  [ "$serve_flags" = 1 ] && echo "package-test: NOT PROVEN: serve's settings came as flags, not from the config (FEDATTN_SERVE_FLAGS=1)" >&2
  echo "package-test: every other check passed; build with make release and run make package-test without these" >&2
  echo "$passed passed, 1 failed" >&2
  exit 1
fi
echo "$passed passed, 0 failed"
