#!/usr/bin/env python3
"""IPFIX over TCP (issue 21): the softflowd capture's messages over one TCP
connection give the JSON UDP gives (plus "transport":"tcp"); sessions of one
address keep their templates apart and a closed session's templates are
gone; framing errors close the session with a reason; max_sessions + 1;
the idle timeout; listen_tcp added and removed by a reload while a session
on a kept listener goes on."""
import json
import os
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ipfixmsg  # noqa: E402
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
check = nftest.Check("tcp")


def payloads(name):
    return [p for _, _, _, _, _, p in
            pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def closed(mport, reason):
    return nftest.metric(nftest.metrics(mport),
                         'netflowd_sessions_closed_total{reason="%s"}' % reason) or 0


def wait_closed(mport, reason, n):
    return nftest.wait_for(lambda: closed(mport, reason) >= n, timeout=20)


def peer_gone(s):
    """The daemon closed s: recv sees the end (or a reset)."""
    s.settimeout(20)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def strip(r):
    r = dict(r)
    for k in ("time_received", "exporter_port", "transport"):
        r.pop(k, None)
    return json.dumps(r, sort_keys=True)


def replay(d, udp, tcp, mport):
    msgs = payloads("softflowd-ipfix")
    nftest.send(msgs, udp, pace=0.001)
    s = connect(tcp)
    s.sendall(b"".join(msgs))
    s.close()
    check(wait_closed(mport, "peer_closed", 1), "the replay session closed")
    want = len(msgs)
    check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
          "netflowd_session_messages_total") == want),
          "%d messages framed" % want)


def layouts(tcp, mport):
    a, b = connect(tcp), connect(tcp)
    a.sendall(ipfixmsg.message([ipfixmsg.template_set(256, [(8, 4), (12, 4)])],
                               domain=7))
    b.sendall(ipfixmsg.message([ipfixmsg.template_set(256, [(2, 8), (1, 8)])],
                               domain=7))
    a.sendall(ipfixmsg.message([ipfixmsg.data_set(256, [bytes([10, 0, 0, 1,
                                10, 0, 0, 2])])], seq=0, domain=7))
    b.sendall(ipfixmsg.message([ipfixmsg.data_set(256, [
        (5).to_bytes(8, "big") + (777).to_bytes(8, "big")])], seq=0, domain=7))
    a.close()
    b.close()
    check(wait_closed(mport, "peer_closed", 3), "the two layout sessions closed")
    # a new session with A's data and no template: nothing decoded
    c = connect(tcp)
    c.sendall(ipfixmsg.message([ipfixmsg.data_set(256, [bytes([10, 0, 0, 3,
                                10, 0, 0, 4])])], seq=1, domain=7))
    c.close()
    check(wait_closed(mport, "peer_closed", 4), "the reconnect session closed")
    # a reconnect that re-sends its template decodes with it
    e = connect(tcp)
    e.sendall(ipfixmsg.message([ipfixmsg.template_set(256, [(8, 4), (12, 4)]),
                                ipfixmsg.data_set(256, [bytes([10, 0, 0, 5,
                                                               10, 0, 0, 6])])],
                               domain=7))
    e.close()
    check(wait_closed(mport, "peer_closed", 5), "the re-sending session closed")


def framing(tcp, mport):
    bad = [
        ("length 15", bytes.fromhex("000a000f") + bytes(12)),
        ("length 0", bytes.fromhex("000a0000") + bytes(12)),
        ("version 9", bytes.fromhex("0009001c") + bytes(24)),
        ("garbage after a message",
         ipfixmsg.message([]) + b"\x47\x45\x54\x20/ HTTP/1.0\r\n\r\n"),
    ]
    n = closed(mport, "malformed")
    for what, data in bad:
        s = connect(tcp)
        s.sendall(data)
        check(peer_gone(s), "%s: the daemon closed the session" % what)
        s.close()
        n += 1
        check(wait_closed(mport, "malformed", n), "%s: closed as malformed" % what)
    # a header promising 65535 bytes and stopping: buffered, nothing decoded,
    # the session goes when the peer does (65535 is over session_buffer here)
    s = connect(tcp)
    s.sendall(bytes.fromhex("000affff") + bytes(100))
    check(peer_gone(s), "length 65535 over the bound: closed")
    s.close()
    n += 1
    check(wait_closed(mport, "malformed", n), "length 65535: malformed")


def limits(tcp, mport, max_sessions):
    n = closed(mport, "too_many")
    held = [connect(tcp) for _ in range(max_sessions)]
    check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
          "netflowd_sessions_open") == max_sessions), "max_sessions open")
    extra = connect(tcp)
    check(peer_gone(extra), "max_sessions + 1: closed by the daemon")
    check(wait_closed(mport, "too_many", n + 1), "counted as too_many")
    extra.close()
    for s in held:
        s.close()
    check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
          "netflowd_sessions_open") == 0), "all closed")


def idle(tcp, mport):
    n = closed(mport, "idle")
    s = connect(tcp)
    check(peer_gone(s), "an idle session is closed")
    check(wait_closed(mport, "idle", n + 1), "counted as idle")
    s.close()


def reload(d, conf_path, conf, tcp, tcp2, mport):
    keep = connect(tcp)
    keep.sendall(ipfixmsg.message([ipfixmsg.template_set(300, [(8, 4)])]))
    with open(conf_path, "w") as f:
        f.write(conf + "listen_tcp = 127.0.0.1:%d\n" % tcp2)
    d.signal(signal.SIGHUP)
    check(nftest.wait_for(lambda: "reloaded configuration" in d.log()), "reloaded")
    try:
        s2 = connect(tcp2)
        s2.close()
        ok = True
    except OSError:
        ok = False
    check(ok, "the new listen_tcp accepts")
    keep.sendall(ipfixmsg.message([ipfixmsg.data_set(300, [bytes([192, 0, 2, 99])])],
                                  seq=0))
    n = closed(mport, "peer_closed")
    check(closed(mport, "listener_removed") == 0, "no session closed by the reload")
    keep.close()
    check(wait_closed(mport, "peer_closed", n + 1),
          "the kept session closed only when its peer did")


def main():
    udp, tcp, tcp2 = nftest.free_port(), nftest.free_tcp_port(), nftest.free_tcp_port()
    mport = nftest.free_tcp_port()
    max_sessions = 5
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nlisten_tcp = 127.0.0.1:%d\n"
            "max_sessions = %d\nsession_idle = 2s\nsession_buffer = 8K\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n"
            "[output]\ndirectory = @OUT@\nrotate = 1h\n[collector]\n"
            % (udp, tcp, max_sessions, mport))
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        r = nftest.subprocess.run([NETFLOWD, "-n", "-c", d.config],
                                  capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "listen_tcp = 127.0.0.1:%d\n" % tcp in r.stdout
              and "max_sessions = 5\n" in r.stdout and "session_buffer = 8K" in r.stdout
              and "session_idle = 2s" in r.stdout, "-n prints the stream keys:\n" + r.stdout)
        d.start()
        replay(d, udp, tcp, mport)
        layouts(tcp, mport)
        framing(tcp, mport)
        limits(tcp, mport, max_sessions)
        idle(tcp, mport)
        reload(d, d.config, conf.replace("@OUT@", d.outdir), tcp, tcp2, mport)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        recs = d.records()
        udp_recs = [r for r in recs if "transport" not in r and r.get("domain") != 7
                    and r.get("exporter_port") != tcp]
        tcp_recs = [r for r in recs if r.get("transport") == "tcp" and r.get("domain") != 7
                    and "e0_ie8" not in r]
        replayed = [r for r in tcp_recs if r.get("src_addr") != "192.0.2.99"]
        check(len(udp_recs) >= 28, "UDP records: %d" % len(udp_recs))
        check(sorted(map(strip, udp_recs)) == sorted(map(strip, replayed)),
              "TCP JSON equals UDP JSON (%d vs %d records)" % (len(replayed), len(udp_recs)))
        # and tshark's decoding of the capture (the golden file)
        actual = os.path.join(d.dir, "tcp.jsonl")
        with open(actual, "w") as f:
            for r in replayed:
                f.write(json.dumps(r) + "\n")
        r = nftest.subprocess.run([sys.executable, os.path.join(GOLDEN, "compare.py"),
                                   "--ignore", "exporter,exporter_port,time_received",
                                   "--name", "softflowd-ipfix over tcp", actual,
                                   os.path.join(GOLDEN, "softflowd-ipfix.expected.jsonl")],
                                  capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "TCP JSON equals tshark's decoding: %s%s" %
              (r.stdout, r.stderr))
        check(all(list(r.keys())[-1] == "transport" for r in tcp_recs),
              "transport is the last key")
        dom7 = [r for r in recs if r.get("domain") == 7]
        a = [r for r in dom7 if r.get("src_addr") == "10.0.0.1"]
        b = [r for r in dom7 if r.get("packets") == 5 and r.get("bytes") == 777]
        check(len(a) == 1 and "bytes" not in a[0], "session A decoded with its layout: %r" % a)
        check(len(b) == 1 and "src_addr" not in b[0], "session B decoded with its layout: %r" % b)
        check(not any(r.get("src_addr") == "10.0.0.3" for r in dom7),
              "a new session never decodes with a closed session's template")
        check(len([r for r in dom7 if r.get("src_addr") == "10.0.0.5"]) == 1,
              "a reconnect that re-sends its template decodes")
        check(len(dom7) == 3, "three records in domain 7: %r" % dom7)
        kept = [r for r in recs if r.get("src_addr") == "192.0.2.99"]
        check(len(kept) == 1 and kept[0].get("transport") == "tcp",
              "a session on a kept listener survives a reload: %r" % kept)
        check("length_short" in d.log(), "the framing error's reason is logged:\n" + d.log())
    finally:
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
