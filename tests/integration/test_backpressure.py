#!/usr/bin/env python3
"""Back-pressure (issue 21): a TCP exporter into a --stdout whose reader
has stalled loses nothing. The stall is real (the test does not read the
pipe); NETFLOWD_TEST_STREAM_BEHIND=2 makes the output "behind" at two
queued blocks instead of half the queue, so that a few MB are enough.
Once /metrics says sessions stopped being read, the test starts reading:
every record arrives, none is counted lost, and the exporter was held up
(its sendall had not returned when reading stopped). The same records
as UDP datagrams into the same stalled reader (the mark left at its
default) are counted lost (queue_full), as UDP always was: decoded =
written + lost."""
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import ipfixmsg  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("backpressure")
PER_MESSAGE = 8000
MESSAGES = 250


def records_stream():
    out = []
    for i in range(MESSAGES):
        recs = [(i * PER_MESSAGE + j).to_bytes(4, "big") + bytes([10, 0, 0, 1])
                for j in range(PER_MESSAGE)]
        out.append(ipfixmsg.message([ipfixmsg.data_set(256, recs)],
                                    seq=i * PER_MESSAGE))
    return out


def udp_phase():
    udp, mport = nftest.free_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nreceive_buffer = 64M\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n" % (udp, mport))
    os.environ.pop("NETFLOWD_TEST_STREAM_BEHIND", None)
    d = nftest.Daemon(NETFLOWD, conf, args=["--stdout"], stdout=subprocess.PIPE)
    lines = [0]
    try:
        d.start()
        tmpl = ipfixmsg.message([ipfixmsg.template_set(256, [(8, 4), (12, 4)])])
        nftest.send([tmpl], udp)
        total = 0
        for _ in range(3):
            nftest.send(records_stream(), udp, pace=0.002)
            total += MESSAGES * PER_MESSAGE
        # what the socket could not hold is the kernel's count; what was
        # decoded is either written or counted lost
        seen = [-1]

        def settled():
            v = nftest.metric(nftest.metrics(mport), "netflowd_records_total")
            done, seen[0] = v == seen[0], v
            return done
        check(nftest.wait_for(settled, timeout=60, step=0.5), "UDP: decoding done")
        decoded = seen[0]
        check(decoded > 0, "UDP: %d of %d records decoded (the rest: kernel drops)" % (decoded, total))
        lost = nftest.metric(nftest.metrics(mport),
                             'netflowd_records_lost_total{reason="queue_full"}') or 0
        check(lost > 0, "UDP into a stalled reader: records counted lost (%d)" % lost)

        def read():
            for _ in d.proc.stdout:
                lines[0] += 1
        reader = threading.Thread(target=read)
        reader.start()
        check(d.stop(timeout=60) == 0, "UDP: exit 0 on SIGTERM")
        reader.join(60)
        check(lines[0] + lost == decoded, "UDP: written %d + lost %d == decoded %d" %
              (lines[0], lost, decoded))
    finally:
        d.cleanup()


def main():
    udp_phase()
    tcp, mport = nftest.free_tcp_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nlisten_tcp = 127.0.0.1:%d\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n"
            % (nftest.free_port(), tcp, mport))
    os.environ["NETFLOWD_TEST_STREAM_BEHIND"] = "2"
    d = nftest.Daemon(NETFLOWD, conf, args=["--stdout"], stdout=subprocess.PIPE)
    lines = [0]
    sent = threading.Event()
    try:
        d.start()
        stream = [ipfixmsg.message([ipfixmsg.template_set(256, [(8, 4), (12, 4)])])]
        stream += records_stream()
        data = b"".join(stream)
        s = nftest.socket.create_connection(("127.0.0.1", tcp), timeout=60)

        def send():
            s.sendall(data)
            sent.set()
        sender = threading.Thread(target=send)
        sender.start()
        paused = nftest.wait_for(lambda: (nftest.metric(nftest.metrics(mport),
                                 "netflowd_session_read_paused_total") or 0) > 0,
                                 timeout=60)
        check(paused, "reading stopped while the output was behind")
        check(not sent.is_set(), "the exporter was held up meanwhile")

        def read():
            for _ in d.proc.stdout:
                lines[0] += 1
        reader = threading.Thread(target=read)
        reader.start()
        sender.join(120)
        check(sent.is_set(), "the exporter sent everything once the reader read")
        s.close()
        check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
              'netflowd_sessions_closed_total{reason="peer_closed"}') == 1,
              timeout=120), "the session closed by its peer")
        text = nftest.metrics(mport)
        records = nftest.metric(text, "netflowd_session_records_total")
        check(records == MESSAGES * PER_MESSAGE, "records decoded: %r" % records)
        check(nftest.metric(text, "netflowd_output_dropped_total") == 0,
              "nothing dropped by the output")
        check(d.stop(timeout=60) == 0, "exit 0 on SIGTERM")
        reader.join(60)
        check(lines[0] == MESSAGES * PER_MESSAGE, "lines written: %d of %d" %
              (lines[0], MESSAGES * PER_MESSAGE))
    finally:
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
