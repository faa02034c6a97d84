#!/bin/bash
# Regenerate tests/analyzer/data/direction/ (the ground truth for the
# analyzer's connection direction, direction_test.py):
#   traffic.pcap       connections whose initiator is known from packet order
#                      (make-direction-traffic.py, scapy, byte-identical every run)
#   <exporter>.pcap    that traffic exported by a real exporter, its datagrams
#                      captured on the loopback of a private network namespace
#
# Needs root (network namespace, tcpdump), Debian packages: softflowd pmacct
# fprobe nfdump tcpreplay tcpdump faketime python3-scapy iproute2.
# Everything runs inside one private network namespace (its own loopback, a
# veth pair for fprobe): nothing reaches the host's interfaces, and ports
# cannot collide with other tests. Every process started here is killed on
# exit; each exporter run is bounded by `timeout`. About 60 s.
set -euo pipefail
cd "$(dirname "$0")"
T=$PWD
D=$T/data/direction
W=$(mktemp -d /tmp/netflowd-direction.XXXXXX)
NS=netflowd-direction-$$
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

for t in softflowd softflowctl pmacctd fprobe nfcapd nfreplay tcpreplay tcpdump faketime ip timeout; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "missing python3-scapy" >&2; exit 1; }

mkdir -p "$D"
ip netns add "$NS"
IN=(ip netns exec "$NS")
"${IN[@]}" ip link set lo up

# softflowd takes its uptime clock from the wall clock and flow times from
# the pcap: under faketime it "boots" shortly before the traffic
# (2024-06-03T10:00:01Z), so uptime-relative times decode to packet times.
FAKE_SOFTFLOWD='@2024-06-03 09:58:00 x1000'
FAKE_PMACCT='@2024-06-03 10:03:00'

echo "== traffic.pcap"
/usr/bin/python3 make-direction-traffic.py "$D/traffic.pcap"

OUT=$D PCAP=$D/traffic.pcap
. ../tools/exporters.sh

# nfreplay NAME PORT VERSION SOURCE: nfcapd collects the datagrams of
# $D/SOURCE.pcap, nfreplay sends its file as NetFlow VERSION to PORT.
# The source is pmacct's export: nfdump 1.7.1's v9 decoder does not know
# softflowd's icmpTypeCodeIPv6 (139), and its replay of softflowd v9 carries
# ICMPv6 type 0 both ways, which leaves no evidence of direction at all.
run_nfreplay() {
    local name=$1 port=$2 version=$3 source=$4
    rm -rf "$W/nfcapd-$name"; mkdir -p "$W/nfcapd-$name"
    "${IN[@]}" nfcapd -w "$W/nfcapd-$name" -p 20699 -b 127.0.0.1 >"$W/nfcapd-$name.log" 2>&1 &
    local nfc=$!
    PIDS+=("$nfc")
    sleep 1
    "${IN[@]}" /usr/bin/python3 - "$D/$source.pcap" 20699 <<'EOF'
import socket, sys, time
sys.path.insert(0, "../tools")
import pcaputil
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _, _, _, _, _, payload in pcaputil.udp_datagrams(sys.argv[1]):
    s.sendto(payload, ("127.0.0.1", int(sys.argv[2])))
    time.sleep(0.02)
EOF
    sleep 1
    kill -TERM "$nfc"; wait "$nfc" || true
    local file
    file=$(ls "$W/nfcapd-$name"/nfcapd.2* | head -1)
    start_capture "$name" "$port"
    "${IN[@]}" timeout 30 nfreplay -r "$file" -H 127.0.0.1 -p "$port" -v "$version" \
        >"$W/nfreplay-$name.log" 2>&1 \
        || { echo "nfreplay failed" >&2; cat "$W/nfreplay-$name.log" >&2; exit 1; }
    stop_capture "$name"
}

# fprobe captures only from an interface (no pcap input): tcpreplay the
# traffic at its own pace onto one end of a veth pair in the namespace,
# fprobe listens on the other end and exports to the namespace's 127.0.0.1.
run_fprobe() {
    local name=$1 port=$2
    "${IN[@]}" ip link add veth0 type veth peer name veth1
    "${IN[@]}" ip link set veth0 up
    "${IN[@]}" ip link set veth1 up
    sleep 1
    start_capture "$name" "$port"
    "${IN[@]}" fprobe -i veth1 -p -l 2 -d 2 -e 60 -s 1 "127.0.0.1:$port" >"$W/fprobe.log" 2>&1 &
    local fp=$!
    PIDS+=("$fp")
    sleep 2
    "${IN[@]}" timeout 60 tcpreplay -q -i veth0 "$D/traffic.pcap" >"$W/tcpreplay.log" 2>&1
    sleep 6	# idle timeout 2 s, scan every second
    kill "$fp"; wait "$fp" || true
    stop_capture "$name"
    "${IN[@]}" ip link del veth0
}

# name              port   exporter options
echo "== softflowd-v5";    run_softflowd softflowd-v5    20655 -n 127.0.0.1:20655 -v 5
echo "== softflowd-v9";    run_softflowd softflowd-v9    20656 -n 127.0.0.1:20656 -v 9 -6
echo "== softflowd-ipfix"; run_softflowd softflowd-ipfix 20657 -n 127.0.0.1:20657 -v 10 -6
echo "== pmacct-v9";       run_pmacct    pmacct-v9       20660 9 5
echo "== pmacct-ipfix";    run_pmacct    pmacct-ipfix    20661 10 7
echo "== nfreplay-v9";     run_nfreplay  nfreplay-v9     20665 9 pmacct-ipfix
echo "== nfreplay-v5";     run_nfreplay  nfreplay-v5     20666 5 pmacct-ipfix
echo "== fprobe-v5";       run_fprobe    fprobe-v5       20670
ls -l "$D"
echo "direction fixtures regenerated"
