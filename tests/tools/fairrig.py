"""The rig of the fair-shedding tests (test_fairness.py,
test_fair_spoofed.py): netflowd --stdout into a reader that reads at a
set rate, so the output backs up; a NetFlow v5 exporter on ::1 whose
records must all be written; wide IPFIX datagrams (a 512-field template)
that cost the renderer ~60 times a v5 record each. Nothing here depends
on timing: the reader's rate only makes the output slow, and the checks
count records, not seconds."""
import os
import re
import struct
import sys
import threading
import time

import nftest

PEN = 32473          # RFC 5612: for documentation
HONEST = b'"exporter":"::1"'


def wide_datagram(seq, first, records):
    """IPFIX: the 512-field template and `records` records of it."""
    core = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8)]
    fields = b"".join(struct.pack("!HH", i, n) for i, n in core)
    fields += b"".join(struct.pack("!HHI", 0x8000 | k, 1, PEN)
                       for k in range(1, 506))
    tmpl = struct.pack("!HH", 256, 512) + fields
    tset = struct.pack("!HH", 2, 4 + len(tmpl)) + tmpl
    recs = b""
    for i in range(first, first + records):
        recs += struct.pack("!4s4sHHBQQ", bytes([172, 16, (i >> 8) & 255, i & 255]),
                            bytes([198, 51, 100, 7]), 40000 + i % 20000, 53, 17,
                            100, 1)
        recs += bytes((i + k) & 255 for k in range(505))
    dset = struct.pack("!HH", 256, 4 + len(recs)) + recs
    body = tset + dset
    return struct.pack("!HHIII", 10, 16 + len(body), 1714564800, seq, 1) + body


class Reader(threading.Thread):
    """Reads netflowd's standard output at `rate` bytes/s until told to
    go flat out; keeps the v5 exporter's lines, counts the others."""

    def __init__(self, fd, rate):
        super().__init__()
        self.fd, self.rate = fd, rate
        self.fast = threading.Event()
        self.normal = []
        self.wide = 0
        self.bytes = 0

    def run(self):
        rest = b""
        start = time.monotonic()
        while True:
            if not self.fast.is_set():
                ahead = self.bytes / self.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(min(ahead, 0.05))
                    continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.bytes += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if HONEST in line:
                    self.normal.append(line)
                else:
                    self.wide += 1
        os.close(self.fd)


class Rig:
    """The daemon (UDP port, /metrics port) and its slow reader."""

    def __init__(self, netflowd, rate=4 << 20):
        self.port, self.mport = nftest.free_port(), nftest.free_tcp_port()
        conf = ("[collector]\nlisten = *:%d\nreceive_buffer = 64M\n"
                "[metrics]\nlisten = 127.0.0.1:%d\n" % (self.port, self.mport))
        r, w = os.pipe()
        self.daemon = nftest.Daemon(netflowd, conf, args=["--stdout"], stdout=w)
        try:
            self.daemon.start()
        finally:
            os.close(w)
        self.reader = Reader(r, rate)
        self.reader.start()

    def metrics(self):
        return nftest.metrics(self.mport)

    def settle_and_stop(self, check, sent_normal):
        """Lets the reader go flat out, waits until every decoded record
        is written or counted lost, stops the daemon; returns the last
        /metrics page."""
        self.reader.fast.set()

        def settled():
            m = self.metrics()
            flows = sum(int(x) for x in re.findall(
                r'^netflowd_flows_total\{exporter="[^"]+"\} (\d+)$', m, re.M))
            written = nftest.metric(m, "netflowd_output_records_total") or 0
            lost = sum(int(x) for x in re.findall(
                r'^netflowd_records_lost_total\{reason="[^"]+"\} (\d+)$', m, re.M))
            return flows >= sent_normal and written + lost >= flows
        check(nftest.wait_for(settled, timeout=60, step=0.5),
              "every decoded record written or counted")
        m = self.metrics()
        rc = self.daemon.stop(timeout=60)
        self.reader.join(60)
        check(rc == 0, "exit 0 (%r)" % rc)
        return m

    def check_honest(self, check, m, during, sent_normal, sent_wide, wide_flows):
        """The checks both tests make: the output shed, every v5 record
        decoded and written once, nothing counted against ::1. Returns
        (shed, queue_full)."""
        shed = nftest.metric(m, 'netflowd_records_lost_total{reason="fair_share"}')
        full = nftest.metric(m, 'netflowd_records_lost_total{reason="queue_full"}')
        normal_flows = nftest.metric(m, 'netflowd_flows_total{exporter="::1"}')
        print("sent: %d v5, %d wide; decoded %r v5, %r wide; written %d v5, "
              "%d wide; shed %r, queue full %r; read %d MB" % (
                  sent_normal, sent_wide, normal_flows, wide_flows,
                  len(self.reader.normal), self.reader.wide, shed, full,
                  self.reader.bytes >> 20), file=sys.stderr)
        check(shed is not None and shed > 0,
              "the output backed up and shed records (%r): the test tested" % shed)
        check(normal_flows == sent_normal,
              "every v5 record decoded: %r of %d (kernel drops: %r)" % (
                  normal_flows, sent_normal,
                  nftest.metric(during, "netflowd_kernel_drops_total")))
        ids = set()
        for line in self.reader.normal:
            rec = nftest.strictjson.loads(line.decode())
            a = [int(x) for x in rec["src_addr"].split(".")]
            ids.add(a[1] << 16 | a[2] << 8 | a[3])
        check(len(self.reader.normal) == len(ids) == sent_normal,
              "every v5 record written, once: %d lines, %d distinct, of %d"
              % (len(self.reader.normal), len(ids), sent_normal))
        check(nftest.metric(m, 'netflowd_exporter_output_dropped_total'
                            '{exporter="::1"}') == 0,
              "nothing counted against the v5 exporter")
        check(self.reader.wide + shed + (full or 0) == wide_flows,
              "wide: written %d + shed %r + full %r == decoded %r" % (
                  self.reader.wide, shed, full, wide_flows))
        check(self.reader.wide > 0, "the wide exporter still gets its share")
        return shed, full or 0

    def cleanup(self):
        self.daemon.cleanup()
        if self.reader.is_alive():
            self.reader.fast.set()
            self.reader.join(10)
