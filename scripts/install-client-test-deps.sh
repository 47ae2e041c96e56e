#!/usr/bin/env bash
# Installs what the client test suites need (tests/live/test_openapi.py, test_postman.py,
# test_console.py, test_metrics.py): schemathesis, openapi-spec-validator, selenium and
# prometheus-client from PyPI, and Debian's
# chromium + chromium-driver for the headless browser test. Idempotent: skips what is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
PY="${PYTHON:-python3}"

have_py() { "$PY" -c "import $1" >/dev/null 2>&1; }

pip_pkgs=()
have_py openapi_spec_validator || pip_pkgs+=("openapi-spec-validator")
have_py schemathesis || pip_pkgs+=("schemathesis")
have_py selenium || pip_pkgs+=("selenium")
have_py pytest || pip_pkgs+=("pytest")
have_py requests || pip_pkgs+=("requests")
have_py prometheus_client || pip_pkgs+=("prometheus-client")
have_py yaml || pip_pkgs+=("pyyaml")  # the Prometheus rules tests read the rule files
if [ "${#pip_pkgs[@]}" -gt 0 ]; then
    echo "install-client-test-deps: pip install ${pip_pkgs[*]}"
    "$PY" -m pip install --quiet --disable-pip-version-check "${pip_pkgs[@]}" \
        || "$PY" -m pip install --quiet --disable-pip-version-check --break-system-packages "${pip_pkgs[@]}"
fi

chromium_bin=""
for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then chromium_bin="$c"; break; fi
done
if [ -z "$chromium_bin" ] || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "install-client-test-deps: apt-get install chromium chromium-driver"
        export DEBIAN_FRONTEND=noninteractive
        if ! $SUDO apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1; then
            $SUDO apt-get update -qq
            $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
        fi
    else
        echo "install-client-test-deps: no apt-get; install chromium and chromedriver yourself" >&2
    fi
fi
echo "install-client-test-deps: ok"
