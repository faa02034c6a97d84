#!/bin/bash
# Regenerate the golden fixtures in this directory from scratch:
#   traffic.pcap                      synthetic input traffic (scapy)
#   pmacct-sflow.pcap                 sFlow v5 from pmacctd's sfprobe, fed traffic.pcap plus
#                                     VLAN/QinQ/IPv6-extension/ICMP/fragment packets
#                                     (make-sflow-traffic.py); expected from tshark's sFlow
#                                     dissector (normalize-tshark-sflow.py), cross-checked with sfcapd
#   <name>.pcap                       export datagrams captured on loopback from a real exporter
#   <name>.expected.jsonl             per-flow values decoded by tshark (normalize-tshark.py)
# and cross-check every expected.jsonl against nfdump (crosscheck-nfdump.py).
#
# Needs root (tcpdump on lo), Debian packages: softflowd pmacct nfdump nfdump-sflow tshark tcpdump
# faketime python3-scapy (for make-traffic.py, run with /usr/bin/python3).
# Only loopback (127.0.0.1 / ::1) is used.  Every process started here is
# killed on exit; each exporter run is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")"
G=$PWD
W=$(mktemp -d /tmp/netflowd-golden.XXXXXX)
PIDS=()
NS=netflowd-golden-$$
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

for t in softflowd softflowctl pmacctd fprobe tcpreplay ip nfcapd sfcapd nfdump tshark tcpdump faketime timeout; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "missing python3-scapy" >&2; exit 1; }

# Exporters with an uptime clock (softflowd) run under faketime so that their
# "boot" is 2024-05-01T11:58:00Z (1000x speed: the export happens a few fake
# minutes later), i.e. shortly before the traffic.  The uptime-relative times
# then decode to the real packet times of traffic.pcap.
FAKE_SOFTFLOWD='@2024-05-01 11:58:00 x1000'
FAKE_PMACCT='@2024-05-01 12:03:00'

echo "== traffic.pcap"
/usr/bin/python3 make-traffic.py "$G/traffic.pcap"

OUT=$G PCAP=$G/traffic.pcap IN=()
. ../tools/exporters.sh

# pmacctd's sfprobe samples every packet (sampling_rate 1) of the sFlow
# input traffic and exports sFlow v5 as agent 192.0.2.10.
run_pmacct_sflow() {
    local name=$1 port=$2
    /usr/bin/python3 make-sflow-traffic.py "$G/traffic.pcap" "$W/sflow-traffic.pcap"
    cat >"$W/$name.conf" <<EOF
daemonize: false
pcap_savefile: $W/sflow-traffic.pcap
plugins: sfprobe
sfprobe_receiver: 127.0.0.1:$port
sfprobe_agentip: 192.0.2.10
sampling_rate: 1
pidfile: $W/$name.pid
EOF
    start_capture "$name" "$port"
    timeout 60 pmacctd -f "$W/$name.conf" >"$W/pmacct-$name.log" 2>&1 \
        || { echo "pmacctd failed" >&2; cat "$W/pmacct-$name.log" >&2; exit 1; }
    stop_capture "$name"
}

# fprobe only captures live: replay traffic.pcap (10x speed) onto one end of a
# veth pair inside a private network namespace, fprobe listens on the other
# end and exports to 127.0.0.1 of that namespace, where tcpdump captures it.
run_fprobe() {
    local name=$1 port=$2
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip -n "$NS" link add veth0 type veth peer name veth1
    ip -n "$NS" link set veth0 up
    ip -n "$NS" link set veth1 up
    sleep 1
    IN=(ip netns exec "$NS")
    start_capture "$name" "$port"
    IN=()
    ip netns exec "$NS" fprobe -i veth1 -p -l 2 -d 3 -e 60 -s 1 "127.0.0.1:$port" >"$W/fprobe.log" 2>&1 &
    local fp=$!
    PIDS+=("$fp")
    sleep 2
    ip netns exec "$NS" timeout 60 tcpreplay -q -i veth0 -x 10 "$G/traffic.pcap" >"$W/tcpreplay.log" 2>&1
    # wait until fprobe has exported the IPv4 flows softflowd -v 5 saw (idle timeout 3 s)
    local want n=0
    want=$(wc -l <"$G/softflowd-v5.expected.jsonl")
    for _ in $(seq 1 30); do
        sleep 1
        n=$(tshark -r "$G/$name.pcap" -d "udp.port==$port,cflow" -T fields -e cflow.count 2>/dev/null | awk '{s+=$1} END {print s+0}')
        [ "$n" -ge "$want" ] && break
    done
    sleep 2
    kill "$fp"; wait "$fp" || true
    stop_capture "$name"
    ip netns del "$NS"
    echo "fprobe exported $n flows" >&2
}

# name            port   exporter + options
echo "== softflowd-v5";        run_softflowd softflowd-v5       20555 -n 127.0.0.1:20555 -v 5
echo "== softflowd-v9";        run_softflowd softflowd-v9       20556 -n 127.0.0.1:20556 -v 9 -6
echo "== softflowd-ipfix";     run_softflowd softflowd-ipfix    20557 -n 127.0.0.1:20557 -v 10 -6
echo "== softflowd-ipfix-v6";  run_softflowd softflowd-ipfix-v6 20558 -n '[::1]:20558' -v 10 -6
echo "== pmacct-v9";           run_pmacct    pmacct-v9          20560 9 5
echo "== pmacct-ipfix";        run_pmacct    pmacct-ipfix       20561 10 7
echo "== pmacct-sflow";        run_pmacct_sflow pmacct-sflow    20563

# name port [--known quirk]...
FIXTURES=(
    "softflowd-v5 20555"
    "softflowd-v9 20556 --known v9-icmp-zero"
    "softflowd-ipfix 20557 --known ipfix-sysuptime-swapped"
    "softflowd-ipfix-v6 20558 --known ipfix-sysuptime-swapped"
    "pmacct-v9 20560 --known v9-icmp-zero"
    "pmacct-ipfix 20561"
    "fprobe-v5 20562"
)
normalize() {
    python3 normalize-tshark.py "$G/$1.pcap" "$2" >"$G/$1.expected.jsonl"
}
normalize softflowd-v5 20555
echo "== fprobe-v5";           run_fprobe    fprobe-v5          20562

for f in "${FIXTURES[@]}"; do
    set -- $f
    name=$1 port=$2; shift 2
    normalize "$name" "$port"
    n=$(wc -l <"$G/$name.expected.jsonl")
    [ "$n" -gt 0 ] || { echo "$name: no flows decoded" >&2; exit 1; }
    python3 crosscheck-nfdump.py "$G/$name.pcap" "$G/$name.expected.jsonl" "$W" 20599 "$@"
    # the expected file must match itself through compare.py
    python3 compare.py "$G/$name.expected.jsonl" "$G/$name.expected.jsonl" >/dev/null
done
python3 normalize-tshark-sflow.py "$G/pmacct-sflow.pcap" 20563 >"$G/pmacct-sflow.expected.jsonl"
[ -s "$G/pmacct-sflow.expected.jsonl" ] || { echo "pmacct-sflow: no samples decoded" >&2; exit 1; }
python3 crosscheck-nfdump.py --sfcapd --known sflow-icmp-zero "$G/pmacct-sflow.pcap" \
    "$G/pmacct-sflow.expected.jsonl" "$W" 20599
python3 compare.py "$G/pmacct-sflow.expected.jsonl" "$G/pmacct-sflow.expected.jsonl" >/dev/null
ls -l "$G"/*.pcap
echo "all fixtures regenerated and cross-checked"
