#!/usr/bin/env python3
"""Real exporters' datagrams (the golden captures) replayed over UDP to two
listeners at once, one IPv4 and one IPv6: after SIGTERM every flow is in the
files, exactly as tshark decoded it, and no temporary file is left."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
FIXTURES = sys.argv[2].split(",")
check = nftest.Check("replay")


def payloads(name):
    return [p for _, _, _, _, _, p in pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]


def expected(name, exporter):
    out = []
    with open(os.path.join(GOLDEN, name + ".expected.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            r["exporter"] = exporter
            out.append(r)
    return out


def sender(port, host, family, datagrams):
    nftest.send(datagrams, port, host=host, family=family, pace=0.002)


def main():
    p4, p6 = nftest.free_port(), nftest.free_port()
    conf = "[collector]\nlisten = 127.0.0.1:%d\nlisten = [::1]:%d\n[output]\ndirectory = @OUT@\nrotate = 1h\n" % (p4, p6)
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        d.start()
        dgs = []
        for name in FIXTURES:
            dgs += payloads(name)
        t4 = threading.Thread(target=sender, args=(p4, "127.0.0.1", socket.AF_INET, dgs))
        t6 = threading.Thread(target=sender, args=(p6, "::1", socket.AF_INET6, dgs))
        t4.start(); t6.start(); t4.join(); t6.join()
        time.sleep(0.5)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        files = d.files()
        check(files and not any(f.startswith(".") for f in files), "published files only: %r" % files)
        check("dropped" not in d.log(), "nothing dropped:\n" + d.log())
        recs = d.records()
        with tempfile.TemporaryDirectory() as tmp:
            for exporter in ("127.0.0.1", "::1"):
                want = []
                for name in FIXTURES:
                    want += expected(name, exporter)
                got = [r for r in recs if r["exporter"] == exporter]
                a, e = os.path.join(tmp, "actual"), os.path.join(tmp, "expected")
                with open(a, "w") as f:
                    f.writelines(json.dumps(r) + "\n" for r in got)
                with open(e, "w") as f:
                    f.writelines(json.dumps(r) + "\n" for r in want)
                rc = subprocess.run([sys.executable, os.path.join(GOLDEN, "compare.py"), a, e]).returncode
                check(rc == 0, "flows from %s match the independent decoding (%d expected, %d got)"
                      % (exporter, len(want), len(got)))
    finally:
        d.cleanup()


main()
check.done()
