#!/usr/bin/env python3
"""/metrics under a descriptor limit (issue 13 item 1): the daemon runs with
RLIMIT_NOFILE 1024 while 2,000 clients connect to /metrics and send a header
line every half second (and reconnect when closed), and flows arrive with a
1 s rotation. Every record is written, /metrics still answers, the log
stays small, and a slow-header client is closed after the deadline."""
import os
import re
import resource
import selectors
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("metrics-limits")
CLIENTS = 2000
ATTACK_S = 8


def tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slowloris:
    """CLIENTS connections that never finish their request header."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.connects = 0
        self.thread = threading.Thread(target=self.run)

    def connect(self, sel):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        self.connects += 1
        sel.register(s, selectors.EVENT_READ, [False])

    def drip(self, sel, started):
        for key in list(sel.get_map().values()):
            s = key.fileobj
            try:
                s.send(b"X-Slow: 1\r\n" if key.data[0] else
                       b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                key.data[0] = True
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(s)
                s.close()

    def run(self):
        sel = selectors.DefaultSelector()
        started = time.time()
        last_drip = last_fill = 0
        while not self.stop.is_set():
            if len(sel.get_map()) < CLIENTS and time.time() - last_fill >= 1:
                # closed ones come back once a second, as a slow client would
                while len(sel.get_map()) < CLIENTS and not self.stop.is_set():
                    self.connect(sel)
                last_fill = time.time()
            for key, _ in sel.select(timeout=0.05):
                try:
                    if key.fileobj.recv(4096):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                sel.unregister(key.fileobj)
                key.fileobj.close()
            if time.time() - last_drip >= 0.5:
                self.drip(sel, started)
                last_drip = time.time()
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()


def scrape(mport):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10) as r:
        return r.status, r.read().decode()


def slow_header_is_closed(mport):
    """One client that sends a header line every 0.5 s is closed (bounded
    wait: far beyond the daemon's deadline, never a timing assertion)."""
    with socket.create_connection(("127.0.0.1", mport), timeout=10) as s:
        s.settimeout(0.5)
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        end = time.time() + 30
        while time.time() < end:
            try:
                s.sendall(b"X-Slow: 1\r\n")
                if s.recv(4096) == b"":
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CLIENTS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, CLIENTS + 500), hard))
    port, mport = nftest.free_port(), tcp_port()
    d = nftest.Daemon(NETFLOWD, "[collector]\nlisten = 127.0.0.1:%d\n"
                      "[output]\ndirectory = @OUT@\nrotate = 1\n"
                      "[metrics]\nlisten = 127.0.0.1:%d\n" % (port, mport))
    d.netflowd = nftest.fd_limited(NETFLOWD, d.dir, 1024)
    attack = Slowloris(mport)
    try:
        d.start()
        # first, alone (the attack's connections would evict it): a client
        # that never finishes its request is closed by the deadline
        check(slow_header_is_closed(mport), "a slow-header client is closed")
        attack.thread.start()
        sent = 0
        answered = 0
        end = time.time() + ATTACK_S
        next_scrape = time.time() + 1.5
        while time.time() < end:
            nftest.send([nfgen.v5([nfgen.flow(sent)])], port)
            sent += 1
            time.sleep(0.01)
            if time.time() >= next_scrape:
                try:
                    status, body = scrape(mport)
                    answered += status == 200 and "netflowd_records_total" in body
                except OSError as e:
                    print("scrape failed: %s" % e, file=sys.stderr)
                next_scrape = time.time() + 1.5
        attack.stop.set()
        attack.thread.join()
        check(answered >= 1, "/metrics answered %d times under attack" % answered)
        check(attack.connects > CLIENTS, "the attack connected %d times" % attack.connects)
        status, body = scrape(mport)
        check(status == 200, "/metrics after the attack")
        m = re.search(r'netflowd_http_connections_total\{result="timeout"\} (\d+)', body)
        check(m and int(m.group(1)) > 0, "timeouts counted in /metrics: %s"
              % re.findall(r"^netflowd_http.*$", body, re.M))
        m = re.search(r'netflowd_http_connections_total\{result="evicted"\} (\d+)', body)
        check(m and int(m.group(1)) > 0, "evictions counted in /metrics")
        check(d.stop() == 0, "exit 0")
        got = len(d.records())
        check(got == sent, "every record written: %d of %d" % (got, sent))
        size = os.path.getsize(d.stderr_path)
        check(size < 1 << 20, "log %d bytes" % size)
        check("Too many open files" not in d.log(), "no EMFILE")
        check(re.search(r"metrics: at most \d+ connections", d.log()),
              "the cap is logged")
        if check.failures:
            print(d.log()[-3000:], file=sys.stderr)
    finally:
        attack.stop.set()
        if attack.thread.is_alive():
            attack.thread.join()
        d.cleanup()


main()
check.done()
