#!/usr/bin/env python3
"""SIGHUP while datagrams arrive: a listener removed and one added (the
receive thread is stopped and started again around the swap), then a
reload that fails after it bound a new listener (which is closed again).
Every datagram sent to a listener that stayed is decoded exactly once."""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("reload")
PER = 10


def config(ports):
    return ("[collector]\n" +
            "".join("listen = 127.0.0.1:%d\n" % p for p in ports) +
            "[output]\ndirectory = @OUT@\nrotate = 1h\n")


def datagram(n):
    """Datagram n carries flows n * PER ... n * PER + PER - 1."""
    return nfgen.v5([nfgen.flow(n * PER + i) for i in range(PER)],
                    sequence=n * PER)


def reload(d, text, done):
    with open(d.config, "w") as f:
        f.write(text.replace("@OUT@", d.outdir))
    before = d.log().count(done)
    d.signal(signal.SIGHUP)
    return nftest.wait_for(lambda: d.log().count(done) > before, timeout=10)


def main():
    p1, p2, p3, p4 = (nftest.free_port() for _ in range(4))
    d = nftest.Daemon(NETFLOWD, config([p1, p2]))
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        d.start()
        s1 = nftest.Stream(p1, datagram)
        s1.thread.start()
        nftest.send([datagram(n) for n in range(100000, 100050)], p2)
        time.sleep(0.3)
        # p2 goes, p3 comes, p1 stays and keeps receiving throughout
        ok = reload(d, config([p1, p3]), "reloaded configuration")
        check(ok, "reload with a listener removed and one added")
        check("no longer listening on udp 127.0.0.1:%d" % p2 in d.log(),
              "the removed listener is closed")
        nftest.send([datagram(n) for n in range(200000, 200050)], p3)
        time.sleep(0.3)
        # p4 binds, then the next address cannot (a socket of ours holds
        # it): the reload fails and p4 is closed again
        busy.bind(("127.0.0.1", 0))
        taken = busy.getsockname()[1]
        ok = reload(d, config([p1, p3, p4, taken]), "reload failed")
        check(ok, "a reload that cannot bind fails")
        check("cannot listen on 127.0.0.1:%d" % taken in d.log(),
              "it says which address: %s" % d.log()[-300:])
        time.sleep(0.3)
        s1.stop.set()
        s1.thread.join()
        # p4 is not listening: this is lost, p3 still is
        nftest.send([datagram(n) for n in range(300000, 300010)], p4)
        nftest.send([datagram(n) for n in range(200050, 200060)], p3)
        time.sleep(0.5)
        rc = d.stop()
        check(rc == 0, "exit code %r on SIGTERM" % rc)
        got = {}
        for r in d.records():
            got.setdefault((r["src_addr"], r["src_port"]), 0)
            got[(r["src_addr"], r["src_port"])] += 1
        check(all(v == 1 for v in got.values()), "no flow written twice")

        def flows(ns):
            return {(nfgen.flow(n * PER + i)["src"], nfgen.flow(n * PER + i)["sport"])
                    for n in ns for i in range(PER)}
        sent1 = flows(s1.sent())
        missing = sent1 - set(got)
        check(len(s1.sent()) > 200 and not missing,
              "every flow sent to the listener that stayed (%d datagrams), "
              "%d missing" % (len(s1.sent()), len(missing)))
        check(flows(range(100000, 100050)) <= set(got),
              "what the removed listener received before the reload")
        check(flows(range(200000, 200060)) <= set(got),
              "what the added listener received")
        check(not flows(range(300000, 300010)) & set(got),
              "nothing from the listener of the failed reload")
        check(re.search(r"listening on udp 127.0.0.1:%d\b" % p3, d.log()),
              "the added listener was announced")
    finally:
        busy.close()
        d.cleanup()
    check.done()


def family_move():
    """A port moves between address families (issue 13 item 11):
    0.0.0.0:P -> *:P -> [::1]:P. The new socket cannot bind while the old
    one holds the port: the old one is read empty and closed right before,
    and the listener that stays loses nothing."""
    p, q = nftest.free_port(), nftest.free_port()

    def text(first):
        return ("[collector]\nlisten = %s\nlisten = 127.0.0.1:%d\n"
                "[output]\ndirectory = @OUT@\nrotate = 1h\n" % (first, q))
    d = nftest.Daemon(NETFLOWD, text("0.0.0.0:%d" % p))
    try:
        d.start()
        stay = nftest.Stream(q, datagram)
        stay.thread.start()
        nftest.send([datagram(n) for n in range(100000, 100010)], p)
        check(reload(d, text("*:%d" % p), "reloaded configuration"),
              "0.0.0.0:P -> *:P reloads: %s" % d.log()[-400:])
        check("udp port %d moves from 0.0.0.0:%d to *:%d" % (p, p, p) in d.log(),
              "the handover is logged")
        nftest.send([datagram(n) for n in range(200000, 200010)], p,
                    host="::1", family=socket.AF_INET6)
        nftest.send([datagram(n) for n in range(200010, 200020)], p)
        time.sleep(0.3)
        check(reload(d, text("[::1]:%d" % p), "reloaded configuration"),
              "*:P -> [::1]:P reloads")
        nftest.send([datagram(n) for n in range(300000, 300010)], p,
                    host="::1", family=socket.AF_INET6)
        time.sleep(0.3)
        stay.stop.set()
        stay.thread.join()
        time.sleep(0.3)
        check(d.stop() == 0, "exit 0")
        got = {}
        for r in d.records():
            key = (r["src_addr"], r["src_port"])
            got[key] = got.get(key, 0) + 1
        check(all(v == 1 for v in got.values()), "no flow written twice")

        def flows(ns):
            return {(nfgen.flow(n * PER + i)["src"], nfgen.flow(n * PER + i)["sport"])
                    for n in ns for i in range(PER)}
        for what, ns in (("before", range(100000, 100010)),
                         ("dual-stack", range(200000, 200020)),
                         ("IPv6 only", range(300000, 300010))):
            missing = flows(ns) - set(got)
            check(not missing, "port P %s: %d flows missing" % (what, len(missing)))
        missing = flows(stay.sent()) - set(got)
        check(len(stay.sent()) > 100 and not missing,
              "the listener that stayed: %d datagrams, %d flows missing"
              % (len(stay.sent()), len(missing)))
    finally:
        d.cleanup()


if __name__ == "__main__":
    family_move()
    main()
