#!/usr/bin/env python3
"""libfixbuf exports 20,000 records over TCP: every one comes out with the
values fixbuf was given, "transport":"tcp", domain 42."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
EXPORT = os.path.abspath(sys.argv[2])
N = 20000
check = nftest.Check("fixbuf")


def main():
    tcp, mport = nftest.free_tcp_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nlisten_tcp = 127.0.0.1:%d\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n"
            "[output]\ndirectory = @OUT@\nrotate = 1h\n"
            % (nftest.free_port(), tcp, mport))
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        d.start()
        r = subprocess.run([EXPORT, "127.0.0.1", str(tcp), str(N)], timeout=60,
                           capture_output=True, text=True)
        check(r.returncode == 0, "fixbuf-export exit 0: %s" % r.stderr)
        check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
              'netflowd_sessions_closed_total{reason="peer_closed"}') == 1,
              timeout=60), "the session closed by its peer")
        check(d.stop() == 0, "exit 0 on SIGTERM")
        recs = d.records()
        check(len(recs) == N, "%d records of %d" % (len(recs), N))
        bad = 0
        for i, rec in enumerate(sorted(recs, key=lambda x: x.get("bytes", 0))):
            want = {"version": 10, "domain": 42, "transport": "tcp",
                    "src_addr": "10.1.%d.%d" % ((i >> 8) & 255, i & 255),
                    "dst_addr": "192.0.2.1", "src_port": 1024 + i % 60000,
                    "dst_port": 443, "proto": 6, "bytes": 1000 + i,
                    "packets": 1 + i % 10}
            if any(rec.get(k) != v for k, v in want.items()):
                if bad < 3:
                    print("record %d: %r, want %r" % (i, rec, want), file=sys.stderr)
                bad += 1
        check(bad == 0, "every record as fixbuf sent it (%d differ)" % bad)
    finally:
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
