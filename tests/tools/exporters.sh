# Real exporters run over a capture, their export datagrams captured on a
# loopback: sourced by the fixture scripts (tests/golden/make-fixtures.sh,
# tests/analyzer/make-direction-fixtures.sh), which set
#   OUT               where NAME.pcap captures go
#   PCAP              the traffic the exporters read
#   IN                an array prefixed to every command (a network
#                     namespace's `ip netns exec NS`), or empty
#   W, PIDS           the work directory; started processes, killed on exit
#   FAKE_SOFTFLOWD, FAKE_PMACCT   faketime specs: the exporters' clocks
# Every run is bounded by `timeout`.

# start_capture NAME PORT: tcpdump on lo, udp port PORT, into $OUT/NAME.pcap
start_capture() {
    rm -f "$OUT/$1.pcap"
    "${IN[@]}" tcpdump -Z root -i lo -n -U -s 0 -w "$OUT/$1.pcap" "udp port $2" \
        2>"$W/tcpdump-$1.log" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    # wait until tcpdump is listening
    for _ in $(seq 1 50); do grep -q listening "$W/tcpdump-$1.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
}

stop_capture() {
    sleep 1
    kill -INT "$CAP_PID"
    wait "$CAP_PID" || true
    grep -E 'captured' "$W/tcpdump-$1.log" >&2 || true
}

# run_softflowd NAME PORT ARGS...: softflowd 1.1.0 with -r only reads the
# file after its control socket wakes the main loop, then exports
# everything at EOF and exits. ARGS name the collector (-n) and version.
run_softflowd() {
    local name=$1 port=$2; shift 2
    start_capture "$name" "$port"
    rm -f "$W/sf.ctl"
    "${IN[@]}" timeout 60 faketime -f "$FAKE_SOFTFLOWD" softflowd -r "$PCAP" -d \
        -p "$W/sf.pid" -c "$W/sf.ctl" "$@" >"$W/softflowd-$name.log" 2>&1 &
    local sf=$!
    PIDS+=("$sf")
    for _ in $(seq 1 80); do
        kill -0 "$sf" 2>/dev/null || break
        softflowctl -c "$W/sf.ctl" statistics >/dev/null 2>&1 || true
        sleep 0.25
    done
    if kill -0 "$sf" 2>/dev/null; then
        softflowctl -c "$W/sf.ctl" shutdown >/dev/null 2>&1 || kill "$sf"
    fi
    wait "$sf" || { echo "softflowd failed" >&2; cat "$W/softflowd-$name.log" >&2; exit 1; }
    grep -E 'Flows exported' "$W/softflowd-$name.log" >&2
    stop_capture "$name"
}

# run_pmacct NAME PORT VERSION ENGINE: pmacctd's nfprobe reads $PCAP and
# exports NetFlow VERSION (9 or 10) to 127.0.0.1:PORT.
run_pmacct() {
    local name=$1 port=$2 version=$3 engine=$4
    cat >"$W/$name.conf" <<EOC
daemonize: false
pcap_savefile: $PCAP
plugins: nfprobe
nfprobe_receiver: 127.0.0.1:$port
nfprobe_version: $version
nfprobe_engine: $engine
aggregate: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags
pidfile: $W/$name.pid
EOC
    start_capture "$name" "$port"
    "${IN[@]}" timeout 60 faketime -f "$FAKE_PMACCT" pmacctd -f "$W/$name.conf" \
        >"$W/pmacct-$name.log" 2>&1 \
        || { echo "pmacctd failed" >&2; cat "$W/pmacct-$name.log" >&2; exit 1; }
    stop_capture "$name"
}
