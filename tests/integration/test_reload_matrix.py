#!/usr/bin/env python3
"""Issue 19 item 1: a failed reload never leaves a port without a listener.

Each reload moves a port between address families (0.0.0.0:P -> *:P or
[::]:P, which cannot be bound while the old socket holds P) and fails at
one stage: a bind, the bind of the handover itself, the output's
directory, the Kafka producer (librdkafka refuses acks = 1 with an
idempotent producer), the /metrics listener. After each, both old
listeners still receive and write: what is sent to them is counted on
/metrics right away and is in the files at the end, and the log names
what failed.

usage: test_reload_matrix.py NETFLOWD kafka|nokafka"""
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
KAFKA = len(sys.argv) > 2 and sys.argv[2] == "kafka"
check = nftest.Check("reload-matrix")
PER = 10


def datagram(n):
    return nfgen.v5([nfgen.flow(n * PER + i) for i in range(PER)],
                    sequence=n * PER)


def flows(ns):
    return {(nfgen.flow(n * PER + i)["src"], nfgen.flow(n * PER + i)["sport"])
            for n in ns for i in range(PER)}


def text(p_listen, q, mport, directory="@OUT@", extra="", mlisten=None):
    return ("[collector]\nlisten = %s\nlisten = 127.0.0.1:%d\n"
            "[output]\ndirectory = %s\nrotate = 1h\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n%s"
            % (p_listen, q, directory, mlisten or mport, extra))


def main():
    p, q, r = nftest.free_port(), nftest.free_port(), nftest.free_port()
    mport = nftest.free_tcp_port()
    d = nftest.Daemon(NETFLOWD, text("0.0.0.0:%d" % p, q, mport))
    held = []
    try:
        d.start()
        notadir = os.path.join(d.dir, "plain-file")
        with open(notadir, "w") as f:
            f.write("not a directory\n")
        # something else holds these: the reload cannot get them
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", r))
        held.append(busy)
        # [::1]:P: 0.0.0.0:P can be bound beside it, *:P cannot, so the
        # handover closes 0.0.0.0:P, fails to bind *:P, and must reopen
        six = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        six.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        held += [six, tcp]
        taken_tcp = tcp.getsockname()[1]
        cases = [
            ("bind", "*:%d" % p, dict(extra="[collector]\nlisten = 127.0.0.1:%d\n" % r),
             "cannot listen on 127.0.0.1:%d" % r),
            ("handover bind", "*:%d" % p, {}, "cannot listen on *:%d" % p),
            ("output open", "[::]:%d" % p, dict(directory=notadir),
             "output directory %s is not a directory" % notadir),
            ("metrics listen", "*:%d" % p, dict(mlisten=taken_tcp),
             "127.0.0.1:%d" % taken_tcp),
        ]
        if KAFKA:
            cases.insert(3, ("kafka config", "*:%d" % p, dict(extra=(
                "[kafka]\nbrokers = 127.0.0.1:9\ntopic = flows\nacks = 1\n"
                "option.enable.idempotence = true\n")), "kafka: "))
        n = 0
        for what, plisten, kw, said in cases:
            if what == "handover bind":
                six.bind(("::1", p))
            with open(d.config, "w") as f:
                f.write(text(plisten, q, mport, **kw).replace("@OUT@", d.outdir))
            before = d.log().count("reload failed")
            d.signal(signal.SIGHUP)
            ok = nftest.wait_for(lambda: d.log().count("reload failed") > before)
            check(ok, "%s: the reload fails" % what)
            last = d.log().split("reload failed")[-1].split("\n")[0]
            check(said in last, "%s: the log says what failed (%r in %r)"
                  % (what, said, last))
            if what == "handover bind":
                check("listening on udp 0.0.0.0:%d again" % p in d.log(),
                      "handover bind: the old socket was closed and came back")
                six.close()
            # both old listeners receive and write, right now
            text_m = nftest.metrics(mport)
            before_p = nftest.metric(text_m, 'netflowd_datagrams_total{listener="0.0.0.0:%d"}' % p)
            before_q = nftest.metric(text_m, 'netflowd_datagrams_total{listener="127.0.0.1:%d"}' % q)
            check(before_p is not None and before_q is not None,
                  "%s: both old listeners are still there: %s" % (what, text_m[:0]))
            base = 1000 * (n + 1)
            nftest.send([datagram(base + i) for i in range(20)], p)
            nftest.send([datagram(base + 500 + i) for i in range(20)], q)

            def got_all():
                m = nftest.metrics(mport)
                return nftest.metric(m, 'netflowd_datagrams_total{listener="0.0.0.0:%d"}' % p) == (before_p or 0) + 20 and \
                    nftest.metric(m, 'netflowd_datagrams_total{listener="127.0.0.1:%d"}' % q) == (before_q or 0) + 20
            check(nftest.wait_for(got_all), "%s: 0.0.0.0:P and Q receive after it" % what)
            n += 1
        # and the move itself still works
        with open(d.config, "w") as f:
            f.write(text("*:%d" % p, q, mport).replace("@OUT@", d.outdir))
        before = d.log().count("reloaded configuration")
        d.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: d.log().count("reloaded configuration") > before),
              "0.0.0.0:P -> *:P after the failures: %s" % d.log()[-300:])
        nftest.send([datagram(90000 + i) for i in range(20)], p, host="::1",
                    family=socket.AF_INET6)
        nftest.send([datagram(91000 + i) for i in range(20)], p)
        m = {}

        def moved():
            m["t"] = nftest.metrics(mport)
            return nftest.metric(m["t"], 'netflowd_datagrams_total{listener="*:%d"}' % p) == 40
        check(nftest.wait_for(moved), "*:P receives IPv4 and IPv6")
        check(d.stop() == 0, "exit 0")
        got = {}
        for rec in d.records():
            key = (rec["src_addr"], rec["src_port"])
            got[key] = got.get(key, 0) + 1
        check(all(v == 1 for v in got.values()), "no flow written twice")
        for i in range(n):
            base = 1000 * (i + 1)
            missing = (flows(range(base, base + 20)) |
                       flows(range(base + 500, base + 520))) - set(got)
            check(not missing, "%s: %d flows missing from the files"
                  % (cases[i][0], len(missing)))
        missing = (flows(range(90000, 90020)) | flows(range(91000, 91020))) - set(got)
        check(not missing, "after the move: %d flows missing" % len(missing))
    except Exception:
        print(d.log(), file=sys.stderr)
        raise
    finally:
        for s in held:
            s.close()
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
