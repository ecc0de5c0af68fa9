#!/usr/bin/env bash
# Installs every Debian package that building voxfork, its demo and its test
# suite need. Idempotent: when everything is present it prints nothing.
set -euo pipefail

packages=(
  # build
  g++ cmake make pkg-config
  libsofia-sip-ua-dev libboost-dev libboost-system-dev libssl-dev
  nlohmann-json3-dev libc-ares-dev liburing-dev libspdlog-dev libgtest-dev libgmock-dev
  libbenchmark-dev libedit-dev
  # demo and integration tests (tinyproxy-bin and dnsmasq-base are the bare
  # programs: the tests run them on loopback, no service is left enabled)
  sip-tester python3 python3-websockets openssl tinyproxy-bin dnsmasq-base
  procps util-linux iproute2
  # real SIP peers in the integration tests: a proxy in front, user agents
  kamailio baresip-core
  # the fuzz targets (tools/fuzz.sh): clang and its libFuzzer runtime
  clang libclang-rt-dev
  # the manual pages' render check (man -l, groff)
  man-db groff-base
  # the demo's voices and picture: speech rendered, converted to mu-law, plotted
  espeak-ng sox python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
