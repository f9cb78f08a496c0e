#!/usr/bin/env bash
# Runs the README's two commands as a new user would: in a throwaway Debian 12
# root made by `debootstrap --variant=minbase bookworm` (no compiler, no node),
# on a clean clone of this checkout's HEAD, as root. Reports each command's
# exit code and time, and ctest's passed/failed/skipped counts.
#
#   sudo scripts/fresh_check.sh [--keep] [DIR]     (default DIR: /var/tmp/bnfold-fresh)
#   --keep: leave the root in place afterwards (to look around with chroot)
#
# Needs root, debootstrap (a Debian package; installed here if missing) and
# the Debian mirror. Not part of every CI run (it installs a whole toolchain:
# ~20-40 min on 2 cores); run it whenever scripts/setup.sh or the README's
# commands change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEEP=0
if [ "${1:-}" = --keep ]; then KEEP=1; shift; fi
DIR="${1:-/var/tmp/bnfold-fresh}"
MIRROR="${BNFOLD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
REV="$(git -C "$ROOT" rev-parse HEAD)"  # fixed now: the checkout may move while this runs

[ "$(id -u)" -eq 0 ] || { echo "fresh_check: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap

unmount_root() {
  for m in dev/pts dev proc sys; do
    if mountpoint -q "$DIR/$m" 2>/dev/null; then umount -l "$DIR/$m"; fi
  done
}
cleanup() {
  unmount_root
  if [ "$KEEP" = 0 ]; then rm -rf --one-file-system "$DIR"; fi
}
trap cleanup EXIT

# A root left by a run that was killed may still have its mounts.
if [ -e "$DIR" ]; then unmount_root; rm -rf --one-file-system "$DIR"; fi
echo "fresh_check: debootstrap --variant=minbase bookworm $DIR"
start=$(date +%s)
debootstrap --variant=minbase bookworm "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 ||
  { tail -20 "$DIR.debootstrap.log"; exit 2; }
echo "fresh_check: root ready in $(( $(date +%s) - start )) s"

mount -t proc proc "$DIR/proc"
mount -t sysfs sys "$DIR/sys"
mount --bind /dev "$DIR/dev"
mount --bind /dev/pts "$DIR/dev/pts"
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
# This machine's own certificate authorities (here: the TLS-intercepting egress
# proxy's) go into the root as an image of this machine would carry them;
# Debian's ca-certificates, once setup.sh installs it, adds them to the system
# bundle, and Node is pointed at that bundle as it is on this machine. Nothing
# of the project's comes along.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$DIR/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$DIR/usr/local/share/ca-certificates/"
fi
# The Debian security suite, as on an installed system (minbase lists only the main suite).
echo "deb http://deb.debian.org/debian-security bookworm-security main" >> "$DIR/etc/apt/sources.list"
git clone -q --no-hardlinks "$ROOT" "$DIR/root/bnfold"
git -C "$DIR/root/bnfold" checkout -q "$REV"
echo "fresh_check: cloned ${REV:0:7}"

run_in_root() {  # run_in_root NAME COMMAND: time and exit code of COMMAND in the root
  local name="$1" cmd="$2" t0 rc
  t0=$(date +%s)
  set +e
  chroot "$DIR" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt} /bin/bash -c "cd /root/bnfold && $cmd" >"$DIR.$name.log" 2>&1
  rc=$?
  set -e
  echo "$name: exit $rc in $(( $(date +%s) - t0 )) s (log: $DIR.$name.log)"
  return 0
}

run_in_root demo ./scripts/demo.sh
run_in_root test ./scripts/test.sh
grep -E "^test summary:|tests passed|tests failed" "$DIR.test.log" | tail -3 || true
grep -E "^  skipped " "$DIR.test.log" || true
