#!/usr/bin/env bash
# Installs the Debian packages topoplace needs to build and test, and only those missing.
# Idempotent and quiet when everything is there. Needs root (or sudo) only when installing.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libglpk-dev libboost-graph-dev libeigen3-dev libyaml-cpp-dev nlohmann-json3-dev
  libpqxx-dev libcpp-httplib-dev libcli11-dev libsqlite3-dev
  libboost-dev          # the service's HTTP transport: Boost.Beast and Boost.Asio (header-only)
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev            # the store: SHA-256 of API tokens and the audit chain; serve --tls-cert
  postgresql sqlite3    # service tests: a throwaway database server (scripts/pg-test.sh), store checks
  prometheus            # service tests: promtool checks the /metrics text format
  openipmi ipmitool     # BMC driver tests: ipmi_sim BMCs, driven and read back with ipmitool
  python3-sushy redfishtool   # Redfish test emulator judged by two clients we did not write
  openssl               # test certificates (HTTPS to the Redfish test emulator, serve --tls-cert)
  openvswitch-switch dnsmasq-base busybox ethtool iproute2 iputils-ping   # network driver tests: a real fabric
  curl                  # scripts/demo.sh: the story told through the HTTP API
  slurm-wlm munge       # slurm cluster driver tests: slurmctld and one slurmd per machine
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
