#!/usr/bin/env bash
# npm run demo: the main job on the bundled examples. For now that is dissecting the fixtures;
# later parts of xdpspec run the program specs here.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in fixtures/*.pcap fixtures/*.pcapng; do
  [ -e "$f" ] || continue
  echo "== xdpspec dissect $f"
  node dist/cli/main.js dissect "$f"
  echo
done
echo "== xdpspec dissect -v (first frame of each kind, full dissection)"
node dist/cli/main.js dissect -v fixtures/ipv4-and-ipv6.pcap | awk '/^#2$/{exit} {print}'
