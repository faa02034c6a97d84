#!/usr/bin/env python3
"""/metrics at its connection cap never evicts a client whose answer is
still being written (issue 19 item 8). The daemon runs with RLIMIT_NOFILE
300, which makes the cap 4 connections, and with the test hook
NETFLOWD_TEST_HTTP_SNDBUF giving its connections a 4 KiB send buffer (on
loopback the kernel's would take the whole answer at once, and no
connection would ever be "mid-answer"). A scraper with a 2 KiB receive
buffer asks for /metrics (about 160 KB: 300 exporters), reads 100 bytes
and stops reading; then idle clients fill the cap and more keep coming,
each one making room. The idle ones are evicted, the scraper is not: once
it reads again it gets the whole answer, Content-Length bytes."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("metrics-answering")
EXPORTERS = 300


def tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(body, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else None


def read_all(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def main():
    port, mport = nftest.free_port(), tcp_port()
    d = nftest.Daemon(NETFLOWD, "[collector]\nlisten = 0.0.0.0:%d\n"
                      "[output]\ndirectory = @OUT@\n"
                      "[metrics]\nlisten = 127.0.0.1:%d\n" % (port, mport))
    d.netflowd = nftest.fd_limited(NETFLOWD, d.dir, 300)
    idle = []
    try:
        os.environ["NETFLOWD_TEST_HTTP_SNDBUF"] = "4096"
        try:
            d.start()
        finally:
            del os.environ["NETFLOWD_TEST_HTTP_SNDBUF"]
        check(re.search(r"metrics: at most 4 connections", d.log()),
              "the cap is 4 connections:\n" + d.log())
        # exporters 127.0.1.1 ... : per-exporter metrics make the answer long
        for i in range(EXPORTERS):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.%d.%d" % (1 + i // 250, 1 + i % 250), 0))
                s.sendto(nfgen.v5([nfgen.flow(i)]), ("127.0.0.1", port))
        check(nftest.wait_for(lambda: metric(nftest.metrics(mport),
                                             "netflowd_records_total") == EXPORTERS,
                              timeout=10), "every record counted")
        full = nftest.metrics(mport)
        check(len(full) > 40000, "the answer is long: %d bytes" % len(full))

        scraper = socket.socket()
        scraper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        scraper.connect(("127.0.0.1", mport))
        scraper.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        head = scraper.recv(100)
        check(head.startswith(b"HTTP/1.0 200"), "the scraper's answer began: %r" % head)
        time.sleep(0.3)         # the server's buffers fill; the rest waits
        for _ in range(3):      # the cap: the scraper and three idle clients
            idle.append(socket.create_connection(("127.0.0.1", mport)))
        time.sleep(0.3)
        for _ in range(6):      # each newcomer makes room (idle ones > 100 ms old)
            idle.append(socket.create_connection(("127.0.0.1", mport)))
            time.sleep(0.2)
        answer = head + read_all(scraper)
        scraper.close()
        for s in idle:
            s.close()
        idle = []
        header, _, body = answer.partition(b"\r\n\r\n")
        m = re.search(rb"Content-Length: (\d+)", header)
        check(m is not None, "Content-Length in %r" % header[:200])
        check(m and len(body) == int(m.group(1)),
              "the scraper got its whole answer: %d of %s bytes"
              % (len(body), m.group(1).decode() if m else "?"))
        check(body.endswith(b"\n") and b"netflowd_http_connections_total" in body,
              "the answer ends whole")
        after = nftest.metrics(mport)
        evicted = metric(after, 'netflowd_http_connections_total{result="evicted"}')
        check(evicted is not None and evicted >= 3,
              "idle clients were evicted to make room: %r" % evicted)
        check(d.stop() == 0, "exit 0")
        if check.failures:
            print(d.log()[-3000:], file=sys.stderr)
    finally:
        for s in idle:
            s.close()
        d.cleanup()


main()
check.done()
