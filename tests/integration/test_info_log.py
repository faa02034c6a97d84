#!/usr/bin/env python3
"""Issue 23 item 5: between "ready" and the first file, the info log shows
that something arrives: each new exporter (address and source port), the
first template of a v9/IPFIX exporter that decodes records, and each
published file with its record count; rate-limited (at most 10 exporter
lines per 10 s, one published line per 10 s)."""
import os
import re
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
check = nftest.Check("info-log")


def datagrams(name):
    return [p for *_, p in pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]


def main():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, "[collector]\nlisten = 127.0.0.1:%d\n[output]\n"
                      "directory = @OUT@\nrotate = 1s\n[log]\nlevel = info\n" % port)
    socks = []
    t0 = time.monotonic()
    try:
        d.start()
        senders = {}
        for name in ("softflowd-v9", "pmacct-ipfix", "fprobe-v5"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            senders[name] = s.getsockname()[1]
            for dg in datagrams(name):
                s.sendto(dg, ("127.0.0.1", port))
        want = {"softflowd-v9": "NetFlow v9", "pmacct-ipfix": "IPFIX",
                "fprobe-v5": "NetFlow v5"}
        for name, sport in senders.items():
            line = "new exporter 127.0.0.1 port %d: %s, domain" % (sport, want[name])
            check(nftest.wait_for(lambda: line in d.log(), timeout=10),
                  "logged: " + line)
        for name in ("softflowd-v9", "pmacct-ipfix"):
            pat = (r"exporter 127\.0\.0\.1 port %d: first template in use: template \d+ "
                   r"\(%s domain \d+\) decoded \d+ records" % (senders[name], want[name]))
            check(nftest.wait_for(lambda: re.search(pat, d.log()), timeout=10),
                  "logged the first template of %s" % name)
        check("port %d: first template" % senders["fprobe-v5"] not in d.log(),
              "no template line for NetFlow v5")
        pub = re.compile(r"output: published (\S+): (\d+) records")
        check(nftest.wait_for(lambda: pub.search(d.log()), timeout=10),
              "the first published file is logged:\n" + d.log())
        m = pub.search(d.log())
        if m:
            with open(m.group(1)) as f:
                n = sum(1 for _ in f)
            check(n == int(m.group(2)), "its record count is the file's (%s: %d lines, "
                  "logged %s)" % (m.group(1), n, m.group(2)))
        # twenty more exporters at once: these lines are limited to 10 per
        # 10 s (exporters and templates together), the rest said suppressed
        for i in range(20):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.sendto(nfgen.v5([nfgen.flow(i)]), ("127.0.0.1", port))
        nftest.wait_for(lambda: d.log().count("new exporter") >= 8, timeout=10)
        # what the window suppressed is said once it is over
        nftest.wait_for(lambda: "suppressed" in d.log(), timeout=25, step=0.2)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        windows = int((time.monotonic() - t0) / 10) + 1
        n = d.log().count("new exporter") + d.log().count("first template in use")
        m = re.search(r"suppressed (\d+) messages", d.log())
        check(10 <= n <= 10 * windows,
              "23 exporters and 2 templates: %d lines in %d window(s) of 10 s" % (n, windows))
        check(m is not None and n + sum(int(x) for x in re.findall(
            r"suppressed (\d+) messages", d.log())) == 25,
              "and the rest said suppressed:\n" + d.log())
        order = [d.log().find(x) for x in ("ready", "new exporter", "output: published")]
        check(order == sorted(order) and order[0] >= 0,
              "ready, then exporters, then the file")
    finally:
        for s in socks:
            s.close()
        d.cleanup()
    check.done()


main()
