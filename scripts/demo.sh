#!/usr/bin/env bash
# npm run demo: the main job on the bundled examples. Dissects the fixtures, then runs the
# article's capture through the IPv6 filter with BPF_PROG_TEST_RUN. Later parts of xdpspec
# grow this into running every program's specs.
set -euo pipefail
cd "$(dirname "$0")/.."
xdpspec() { node dist/cli/main.js "$@"; }

for f in fixtures/*.pcap fixtures/*.pcapng; do
  [ -e "$f" ] || continue
  echo "== xdpspec dissect $f"
  xdpspec dissect "$f"
  echo
done

echo "== xdpspec dissect -v fixtures/ipv4-and-ipv6.pcap (first two frames)"
xdpspec dissect -v fixtures/ipv4-and-ipv6.pcap | awk '/^#2$/{exit} {print}'

echo "== xdpspec test-run bpf/build/xdp_ipv6_filter.bpf.o --pcap fixtures/ipv4-and-ipv6.pcap"
if [ "$(id -u)" = 0 ]; then
  xdpspec test-run bpf/build/xdp_ipv6_filter.bpf.o --pcap fixtures/ipv4-and-ipv6.pcap
else
  echo "(skipped: loading BPF programs needs root)"
fi
