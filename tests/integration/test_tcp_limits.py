#!/usr/bin/env python3
"""Idle sessions cost UDP nothing (issue 21): netflowd under ulimit -n 1024
holds 1,000 idle TCP connections (max_sessions 2000: the descriptor limit,
not the cap, is what runs out) while a UDP exporter sends the softflowd
IPFIX capture 200 times: every UDP record is written. Then a reload
without the listen_tcp closes its sessions as listener_removed."""
import os
import resource
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
check = nftest.Check("tcp-limits")
IDLE = 1000
ROUNDS = 200


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE + 200
    if hard != resource.RLIM_INFINITY and hard < want:
        sys.exit(77)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    udp, tcp, mport = nftest.free_port(), nftest.free_tcp_port(), nftest.free_tcp_port()
    base = ("[collector]\nlisten = 127.0.0.1:%d\nmax_sessions = 2000\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "rotate = 1h\n" % (udp, mport))
    conf = base + "[collector]\nlisten_tcp = 127.0.0.1:%d\n" % tcp
    workdir = nftest.tempfile.mkdtemp(prefix="netflowd-test-")
    wrapper = nftest.fd_limited(NETFLOWD, workdir, 1024)
    d = nftest.Daemon(wrapper, conf, workdir=workdir)
    held = []
    try:
        d.start()
        for _ in range(IDLE):
            try:
                held.append(socket.create_connection(("127.0.0.1", tcp), timeout=10))
            except OSError:
                break
        check(len(held) == IDLE, "%d connections made" % len(held))
        text = nftest.metrics(mport)
        opened = nftest.metric(text, "netflowd_sessions_open") or 0
        check(opened > 500, "sessions open: %d (the rest wait for descriptors)" % opened)
        msgs = [p for *_, p in pcaputil.udp_datagrams(
            os.path.join(GOLDEN, "softflowd-ipfix.pcap"))]
        nftest.send(msgs * ROUNDS, udp, pace=0.0005)
        want = 29 * ROUNDS
        check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
              "netflowd_records_total") == want, timeout=30),
              "every UDP record decoded (%d)" % want)
        with open(d.config, "w") as f:
            f.write(base.replace("@OUT@", d.outdir))
        d.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: "reloaded configuration" in d.log(), timeout=30),
              "reloaded")
        check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
              "netflowd_sessions_open") == 0, timeout=30), "every session closed")
        closed = nftest.metric(nftest.metrics(mport),
                               'netflowd_sessions_closed_total{reason="listener_removed"}')
        check(closed == opened, "closed as listener_removed: %r of %d" % (closed, opened))
        for s in held:
            s.close()
        check(d.stop() == 0, "exit 0 on SIGTERM")
        recs = d.records()
        check(len(recs) == want, "every UDP record written: %d of %d" % (len(recs), want))
    finally:
        for s in held:
            s.close()
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
