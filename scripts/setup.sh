#!/usr/bin/env bash
# Makes this machine ready for xdpspec: installs the Debian packages that are missing,
# and runs `npm ci` when node_modules is missing or older than package-lock.json. On a ready
# machine it only checks (well under a second). Used by `npm test`, `npm run demo` and `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'xdpspec setup: %s\n' "$*" >&2; }

# Debian packages and why: clang/llvm compile bpf/, libbpf-dev gives bpf_helpers.h and
# libbpf.so.1, iproute2 makes namespaces and veths,
# tcpdump/tshark/tcpreplay are the reference tools specs and benchmarks compare against,
# bpftool inspects loaded programs, ethtool switches checksum offload off where a spec replays
# what a real socket sent, iputils-ping measures the round trip the egress article reports,
# lcov's genhtml is the consumer the coverage specs check lcov.info against,
# qemu-system-x86 and busybox-static boot the guests of `xdpspec run --kernel` (busybox is their
# init), xz-utils unpacks the modules of Debian's newer kernels for them.
packages=(clang llvm libbpf-dev linux-libc-dev iproute2 tcpdump tshark tcpreplay bpftool ethtool iputils-ping make g++ lcov qemu-system-x86 busybox-static xz-utils)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "xdpspec needs root (it loads BPF programs and creates namespaces); run as root, or install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node_modules is stale when package-lock.json changed since the last `npm ci` here.
stamp=node_modules/.xdpspec-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ ! -d node_modules ] || [ "$want" != "$have" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
