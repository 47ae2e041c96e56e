#!/usr/bin/env bash
# Installs what building and testing filmd needs on a fresh Debian 12 machine of this kind.
# Idempotent: each package is installed only when missing; `apt-get update` runs at most once an hour.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in "$@"; do have_pkg "$pkg" || need_apt+=("$pkg"); done

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # One `apt-get update` per set-up: the Makefile calls this script once per package group.
    stamp=/tmp/filmd-apt-updated
    if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then $SUDO apt-get update -qq && touch "$stamp"; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
