#!/bin/sh
# Installs what `npm run bench:server` needs besides node_modules: h2load (Debian nghttp2-client),
# the native HTTP/2 load generator that drives both servers. The official emulator comes from the
# Debian package google-cloud-cli-bigtable-emulator (Google Cloud apt repository); this script only
# reports whether it is present.
set -eu
if [ ! -x /usr/bin/h2load ]; then
  echo "installing nghttp2-client (h2load)"
  apt-get update
  apt-get install -y nghttp2-client
fi
/usr/bin/h2load --version
if dpkg -L google-cloud-cli-bigtable-emulator 2>/dev/null | grep -q '/cbtemulator$'; then
  echo "cbtemulator: present"
else
  echo "cbtemulator: missing; install the Debian package google-cloud-cli-bigtable-emulator" >&2
  exit 1
fi
