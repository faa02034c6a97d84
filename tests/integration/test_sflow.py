#!/usr/bin/env python3
"""sFlow through the running daemon: pmacct's sfprobe datagrams (the
golden capture) and one datagram with an unknown sample format, sent to
a listener with -D. Every sample is written with "format":"sflow", the
debug log has an sflow line per datagram, and /metrics counts the samples
as flows and the unknown format as a drop of its exporter."""
import json
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
check = nftest.Check("sflow")


def unknown_sample():
    """Agent 192.0.2.77, one sample of enterprise 4300 format 1."""
    body = struct.pack(">II", 1, 2)
    sample = struct.pack(">II", 4300 << 12 | 1, len(body)) + body
    return struct.pack(">IIIIIII", 5, 1, 0xC000024D, 0, 1, 1000, 1) + sample



def main():
    port, mport = nftest.free_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "rotate = 1h\n[metrics]\nlisten = 127.0.0.1:%d\n" % (port, mport))
    dgs = [p for _, _, _, _, _, p in
           pcaputil.udp_datagrams(os.path.join(GOLDEN, "pmacct-sflow.pcap"))]
    with open(os.path.join(GOLDEN, "pmacct-sflow.expected.jsonl")) as f:
        want = sum(1 for line in f if line.strip())
    d = nftest.Daemon(NETFLOWD, conf, args=["-D"])
    try:
        d.start()
        nftest.send(dgs + [unknown_sample()], port, pace=0.002)
        text = ""
        for _ in range(100):
            text = nftest.metrics(mport)
            if 'reason="unknown_format"' in text:
                break
            time.sleep(0.05)
        check('netflowd_drops_total{exporter="127.0.0.1",reason="unknown_format"} 1'
              in text, "/metrics counts the unknown sample format:\n" + text)
        check('netflowd_flows_total{exporter="127.0.0.1"} %d' % want in text,
              "/metrics counts %d samples as flows" % want)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        log = d.log()
        lines = [l for l in log.splitlines() if ": sflow sub-agent 0 sequence" in l]
        check(len(lines) == len(dgs) + 1, "-D logs every sFlow datagram (%d of %d)"
              % (len(lines), len(dgs) + 1))
        check("0 samples, 0 datagrams and 0 samples lost" in log,
              "-D says what the unknown-format datagram held")
        recs = d.records()
        check(len(recs) == want and all(r.get("format") == "sflow" and
              r.get("version") == 5 and r.get("agent") == "192.0.2.10"
              for r in recs), "every sample written as sFlow (%d of %d)"
              % (len(recs), want))
    finally:
        d.cleanup()


main()
check.done()
