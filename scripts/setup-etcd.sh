#!/bin/sh
# Makes sure the etcd server is installed: the etcd coordination driver's tests
# (test/coord/coordination-contract.test.ts) start real etcd members. Installs Debian's
# etcd-server (etcd 3.4+, with etcdctl) through apt-get when `etcd` is missing and we are root;
# otherwise prints what to do and exits 0, so the build goes on and only the etcd tests fail,
# each with the same instruction. Run by `npm test` (pretest) before the build.
set -eu
if command -v etcd >/dev/null 2>&1; then
  echo "etcd: present ($(etcd --version 2>/dev/null | head -n 1))"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "etcd: missing. Install etcd 3.4+ (Debian: 'sudo apt-get install etcd-server') or run this" >&2
  echo "script as root; the etcd coordination tests fail until it is on PATH." >&2
  exit 0
fi
echo "etcd: missing; installing the Debian package etcd-server"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server
# The package may start an etcd service on port 2379; the tests start their own members on free
# ports and do not need it.
etcd --version | head -n 1
