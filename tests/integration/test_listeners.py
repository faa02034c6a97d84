#!/usr/bin/env python3
"""Two listeners at once (IPv4 and IPv6) plus a dual-stack -p port: every
flow sent arrives, exporters are written right, SIGTERM leaves only
complete, published files."""
import os
import re
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("listeners")


def v5_datagrams(start, n_datagrams, per=30):
    out = []
    for d in range(n_datagrams):
        flows = [nfgen.flow(start + d * per + i) for i in range(per)]
        out.append(nfgen.v5(flows, sequence=d * per))
    return out


def v9_datagrams(start, n_datagrams, per=20):
    out = []
    for d in range(n_datagrams):
        flows = [nfgen.flow(start + d * per + i) for i in range(per)]
        out.append(nfgen.v9(flows, with_template=True, sequence=d))
    return out


def thread_nice(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            comm = f.read().strip()
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            # after the parenthesised name: field 19 is nice
            fields = f.read().rsplit(")", 1)[1].split()
        out[comm] = int(fields[16])
    return out


def two_listeners():
    p4, p6 = nftest.free_port(), nftest.free_port()
    conf = """[collector]
listen = 127.0.0.1:%d
listen = [::1]:%d
[output]
directory = @OUT@
rotate = 1h
""" % (p4, p6)
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        d.start()
        threads = thread_nice(d.proc.pid)
        check(set(threads) == {"netflowd", "netflowd/rx", "netflowd/render",
                               "netflowd/writer", "netflowd/finish"},
              "threads named: %s" % sorted(threads))
        if os.geteuid() == 0:
            # allowed to (CAP_SYS_NICE): the receive thread, and only it,
            # runs at nice -10
            check(threads.get("netflowd/rx") == -10 and
                  threads.get("netflowd") == 0 and
                  "receive thread at nice -10" in d.log(),
                  "receive thread at nice -10: %s" % threads)
        v5 = v5_datagrams(0, 100)          # 3000 flows over IPv4
        v9 = v9_datagrams(100000, 100)     # 2000 flows over IPv6
        t4 = threading.Thread(target=nftest.send, args=(v5, p4),
                              kwargs={"pace": 0.0005})
        t6 = threading.Thread(target=nftest.send, args=(v9, p6),
                              kwargs={"host": "::1", "family": socket.AF_INET6,
                                      "pace": 0.0005})
        t4.start(); t6.start(); t4.join(); t6.join()
        # let the daemon drain its socket buffers before stopping it
        nftest.wait_for(lambda: "records" in d.log(), timeout=0.5)
        import time; time.sleep(0.5)
        rc = d.stop()
        check(rc == 0, "exit code %r on SIGTERM" % rc)
        files = d.files()
        check(all(re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?\.json", f) for f in files),
              "only published files left: %r" % files)
        recs = d.records()
        by_exporter = {}
        for r in recs:
            by_exporter.setdefault((r["exporter"], r["version"]), []).append(r)
        v4 = by_exporter.get(("127.0.0.1", 5), [])
        v6 = by_exporter.get(("::1", 9), [])
        check(len(v4) == 3000, "v5 flows over IPv4: %d of 3000" % len(v4))
        check(len(v6) == 2000, "v9 flows over IPv6: %d of 2000" % len(v6))
        check(len(recs) == 5000, "no other records: %d" % len(recs))
        want = {(nfgen.flow(i)["src"], nfgen.flow(i)["sport"]) for i in range(3000)}
        got = {(r["src_addr"], r["src_port"]) for r in v4}
        check(want == got, "every v5 flow exactly once")
        f0 = nfgen.flow(100000)
        r0 = [r for r in v6 if r["src_addr"] == f0["src"] and r["src_port"] == f0["sport"]]
        check(len(r0) == 1, "v9 flow 100000 present once")
        if r0:
            r = r0[0]
            check(r["bytes"] == f0["bytes"] and r["packets"] == f0["packets"]
                  and r["dst_port"] == 443 and r["proto"] == 6,
                  "v9 counters and ports: %r" % r)
            # header: unix_secs 1714564800, uptime 100000; first = uptime-5000
            check(r["start"] == "2024-05-01T11:59:55.000Z", "start %s" % r["start"])
            check(r["end"] == "2024-05-01T11:59:59.000Z", "end %s" % r["end"])
    finally:
        d.cleanup()


def dual_stack():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "-o", "flows", "-r", "3600"])
    try:
        d.start()
        nftest.send([nfgen.v5([nfgen.flow(1)])], port)
        nftest.send([nfgen.v5([nfgen.flow(2)])], port, host="::1", family=socket.AF_INET6)
        import time; time.sleep(0.3)
        check(d.stop() == 0, "exit code 0")
        exporters = sorted(r["exporter"] for r in d.records())
        check(exporters == ["127.0.0.1", "::1"],
              "IPv4 through the dual-stack socket is written plainly: %r" % exporters)
    finally:
        d.cleanup()


two_listeners()
dual_stack()
check.done()
