#!/usr/bin/env bash
# Makes a release from fedattn-coordinator and fedattn-client built with the Swift runtime
# linked in (`make release` builds them so, in .build-release, then calls this):
#   OUT/fedattention-VERSION-ARCH.tar.gz  a folder holding what `make install PREFIX=/usr/local`
#                                         installs, less /etc (the example settings are in
#                                         usr/local/share/doc/fedattention): sudo tar -xzf FILE
#                                         -C / --strip-components=1
#   OUT/fedattention_VERSION_ARCH.deb     the same for /usr, the service's user and state folder
#                                         made by its postinst (packaging/debian/)
# VERSION is BuildVersion.release in the sources (scripts/release-version.sh), and each binary's
# --version must say the same. Debug information is stripped from the copies shipped (the
# symbols stay, so a crash still names its functions); BUILT_DIR keeps the full binaries.
# Usage: scripts/release.sh BUILT_DIR OUT_DIR
# FEDATTN_ALLOW_SWIFT_RUNTIME=1 goes on with binaries that need the Swift runtime (a `make
# build`): only to try this script and scripts/package-test.sh out; what it makes is no release.
set -euo pipefail
built="${1:?usage: scripts/release.sh BUILT_DIR OUT_DIR (make release: .build-release/release out/release)}"
out="${2:?usage: scripts/release.sh BUILT_DIR OUT_DIR}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
say() { echo "release: $*"; }
fail() { echo "release: FAILED: $*" >&2; exit 1; }

version="$("$repo/scripts/release-version.sh")"
arch="$(dpkg --print-architecture)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing: apt-get install dpkg-dev"
built="$(cd "$built" 2>/dev/null && pwd)" || fail "$1: no such folder (build first: make release)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/fedattn-release.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# 1. The binaries are this source tree's, and run without the Swift runtime.
for executable in fedattn-coordinator fedattn-client; do
  [ -x "$built/$executable" ] || fail "$built/$executable is missing: build first (make release)"
  line="$("$built/$executable" --version)" || fail "$built/$executable --version failed"
  [[ "$line" == "$executable $version "* ]] ||
    fail "$built/$executable --version says '$line', but the sources are release $version: build again (make release)"
done
allow_runtime=""
if ! "$repo/scripts/check-no-swift-runtime.sh" "$built/fedattn-coordinator" "$built/fedattn-client"; then
  [ "${FEDATTN_ALLOW_SWIFT_RUNTIME:-}" = 1 ] || fail "$built holds binaries that need the Swift runtime; a release must not"
  say "WARNING: FEDATTN_ALLOW_SWIFT_RUNTIME=1: packaging binaries that need the Swift runtime; this is not a release"
  allow_runtime=1
fi

# 2. The .deb's tree: `make install` for /usr, into work/debian/fedattention (where
# dpkg-shlibdeps expects a package's files).
deb_root="$work/debian/fedattention"
say "staging the .deb's files (make install-files PREFIX=/usr)"
make -s -C "$repo" install-files DESTDIR="$deb_root" PREFIX=/usr INSTALL_FROM="$built" >/dev/null ||
  fail "make install-files into $deb_root failed"
strip --strip-debug "$deb_root/usr/bin/fedattn-coordinator" "$deb_root/usr/bin/fedattn-client"

# 3. Depends: adduser (the postinst makes the fedattn user) and the packages of the shared
# libraries the binaries still load (libc6, libstdc++6, libsqlite3-0, libzstd1, zlib1g, ...),
# each at the least version their symbols need, as dpkg-shlibdeps finds them.
mkdir -p "$work/debian"
printf 'Source: fedattention\n\nPackage: fedattention\nArchitecture: any\n' >"$work/debian/control"
shlibdeps="$(cd "$work" && dpkg-shlibdeps -O ${allow_runtime:+--ignore-missing-info} \
  -e"$deb_root/usr/bin/fedattn-coordinator" -e"$deb_root/usr/bin/fedattn-client" 2>"$work/shlibdeps.log")" ||
  fail "dpkg-shlibdeps could not tell the binaries' library packages: $(cat "$work/shlibdeps.log")"
depends="adduser, ${shlibdeps#shlibs:Depends=}"
[[ "$depends" == *libc6* ]] || fail "dpkg-shlibdeps named no libc6 ('$shlibdeps'): the binaries are not what this script expects"

# 4. The package's control files.
maintainer="${MAINTAINER:-$(git -C "$repo" config user.name || echo FedAttention maintainers) <$(git -C "$repo" config user.email || echo root@localhost)>}"
mkdir -p "$deb_root/DEBIAN"
cat >"$deb_root/DEBIAN/control" <<CONTROL
Package: fedattention
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk "$deb_root" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: federated learning of a click and recommendation model
 FedAttention trains one attention model across organisations whose click logs
 never leave them: fedattn-client trains in each silo and sends weight deltas
 over mutual TLS; fedattn-coordinator averages them and publishes each round.
 .
 This package holds both executables (the Swift runtime linked in), their man
 pages and documentation, and the fedattn-coordinator service: a hardened systemd
 unit running as the fedattn user, its settings in /etc/fedattention and its
 state in /var/lib/fedattention.
CONTROL
# Every file under /etc is the operator's to edit: dpkg keeps their edits on upgrade.
(cd "$deb_root" && find etc -type f | sort | sed 's|^|/|') >"$deb_root/DEBIAN/conffiles"
(cd "$deb_root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$deb_root/DEBIAN/md5sums"
install -m 0755 "$repo/packaging/debian/postinst" "$repo/packaging/debian/prerm" "$repo/packaging/debian/postrm" "$deb_root/DEBIAN/"
deb="$out/fedattention_${version}_${arch}.deb"
say "building $deb (dpkg-deb, xz)"
dpkg-deb --root-owner-group -Zxz --build "$deb_root" "$deb" >/dev/null || fail "dpkg-deb --build $deb_root failed"

# 5. The tarball: `make install` for /usr/local, less /etc, in a folder of its own.
name="fedattention-$version-$arch"
say "staging the tarball's files (make install-files PREFIX=/usr/local)"
make -s -C "$repo" install-files DESTDIR="$work/$name" PREFIX=/usr/local INSTALL_FROM="$built" >/dev/null ||
  fail "make install-files into $work/$name failed"
rm -r "${work:?}/${name:?}/etc"
strip --strip-debug "$work/$name/usr/local/bin/fedattn-coordinator" "$work/$name/usr/local/bin/fedattn-client"
tarball="$out/$name.tar.gz"
tar --owner=0 --group=0 --numeric-owner --sort=name -C "$work" -czf "$tarball" "$name" || fail "tar of $work/$name failed"

# 6. What was made.
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
say "release $version for $arch${allow_runtime:+ (NOT A RELEASE: the binaries need the Swift runtime)}"
echo "  Depends: $depends"
echo "  conffiles: $(tr '\n' ' ' <"$deb_root/DEBIAN/conffiles")"
for executable in fedattn-coordinator fedattn-client; do
  echo "  $executable: $(mb "$built/$executable") as built, $(mb "$deb_root/usr/bin/$executable") as shipped (debug information stripped)"
done
echo "  $deb: $(mb "$deb")"
echo "  $tarball: $(mb "$tarball")"
