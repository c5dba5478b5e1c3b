#!/usr/bin/env bash
# npm run demo: the main job on the bundled examples. Shows the fixtures briefly, runs the
# article's capture through the IPv6 filter with BPF_PROG_TEST_RUN, compares the firewall's next
# rule set with the deployed one on the mixed capture (xdpspec diff), finds a planted bug with
# xdpspec fuzz (and shows the original passing), then runs the specs of every
# program in bpf/ (both engines) with a readable reporter that ends with a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
xdpspec() { node dist/cli/main.js "$@"; }

for f in fixtures/*.pcap; do
  echo "== xdpspec dissect $f"
  xdpspec dissect "$f" | head -8
  n=$(xdpspec dissect "$f" | wc -l)
  [ "$n" -le 8 ] || echo "   ... $((n - 8)) more frames"
  echo
done

if [ "$(id -u)" != 0 ]; then
  echo "(the rest needs root: loading BPF programs and creating namespaces)"
  exit 0
fi

echo "== xdpspec test-run bpf/build/xdp_ipv6_filter.bpf.o --pcap fixtures/ipv4-and-ipv6.pcap (last lines)"
xdpspec test-run bpf/build/xdp_ipv6_filter.bpf.o --pcap fixtures/ipv4-and-ipv6.pcap | tail -3
echo

echo "== xdpspec diff: the firewall's next rule set against the deployed one, on real traffic (last lines)"
rc=0
xdpspec diff bpf/build/xdp_firewall.bpf.o bpf/build/xdp_firewall.bpf.o --pcap fixtures/mixed-traffic.pcap \
  --old-maps fixtures/firewall-rules/deployed.json --new-maps fixtures/firewall-rules/next.json > /tmp/xdpspec-demo-diff.txt || rc=$?
tail -8 /tmp/xdpspec-demo-diff.txt
rm -f /tmp/xdpspec-demo-diff.txt
echo "(exit status $rc: 1 means some frames changed fate)"
[ "$rc" -le 1 ]
echo

echo "== xdpspec fuzz: a planted bug (tc_ttl's checksum update without its carry) found and shrunk"
rc=0
xdpspec fuzz specs/bpf/build/planted_tc_ttl_csum.bpf.o --property valid-checksums --l3 ipv4 --malformed 0 \
  --seed 1 --runs 1000 > /tmp/xdpspec-demo-fuzz.txt || rc=$?
grep -v '^      ' /tmp/xdpspec-demo-fuzz.txt | head -4
sed -n '/as a spec:/,/^  written\|^  reproduce/p' /tmp/xdpspec-demo-fuzz.txt
rm -f /tmp/xdpspec-demo-fuzz.txt
echo "(exit status $rc: 1 means the property does not hold)"
[ "$rc" -eq 1 ]
xdpspec fuzz specs/bpf/build/tc_ttl.bpf.o --property valid-checksums --l3 ipv4 --malformed 0 --seed 1 --runs 1000
echo

echo "== the programs' specs (specs/programs/*.spec.ts)"
node_modules/.bin/mocha --no-config --node-option import=tsx/esm --require specs/support/hooks.ts \
  --timeout 30000 --reporter ./scripts/demo-reporter.cjs 'specs/programs/*.spec.ts'
