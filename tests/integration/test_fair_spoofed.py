#!/usr/bin/env python3
"""Issue 24 item 1, with the real daemon: a spoofer cannot turn fair
shedding against the honest exporter. Wide IPFIX traffic (the 512-field
template of test_fairness.py, 4 records a datagram, 3,000 datagrams/s)
comes from 500 source addresses (127.1.x.y, each a socket bound to it),
every datagram with its template and a sequence number that starts over:
none proves its address, they are one "unproven" group, and each source
alone queues less a window than the honest NetFlow v5 exporter (::1),
which proves its address first (its sequence continues), then sends
within its share. The old rule (a quarter above the second largest
exporter) shed the honest exporter alone here (checked: 5 checks fail
with the daemon of main at 0e1630b). The queue is backed up by the
reader's rate; what is asserted does not depend on timing: every v5
record written, nothing against ::1, every spoofed record written or
counted against its source.
The rig (tests/tools/fairrig.py) is test_fairness.py's, issue 13 item 4.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import fairrig  # noqa: E402
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("fair-spoofed")
SPOOFERS = 500

# a spoofed datagram: the template and 4 records (2,136 bytes of them),
# less packed than the honest exporter queues a window (each record is
# 17 KB packed, 300 records of v5 90 KB): spread thin, every spoofed source
# is smaller than the honest one, which the old rule (a quarter above
# the second largest exporter) shed alone
WIDE_RECORDS = 4
PER_TICK = 30


def main():
    rig = fairrig.Rig(NETFLOWD)
    port, mport = rig.port, rig.mport
    sent_normal = sent_wide = 0
    spoofers = []
    try:
        for i in range(SPOOFERS):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.1.%d.%d" % (i >> 8, 1 + (i & 255) % 254), 0))
            spoofers.append(s)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        # the honest exporter proves its address before the attack: its
        # sequence continues (decoded: nothing depends on timing)
        for tick in range(5):
            flows = [nfgen.flow(tick * 30 + k) for k in range(30)]
            s6.sendto(nfgen.v5(flows, sequence=tick * 30), ("::1", port))
        sent_normal = 150
        check(nftest.wait_for(lambda: nftest.metric(nftest.metrics(mport),
              'netflowd_flows_total{exporter="::1"}') == 150, timeout=20),
              "the honest exporter's first datagrams decoded")
        # 4 s: v5 at 100 datagrams/s (3,000 records/s), the wide one at 50
        t0 = time.monotonic()
        for tick in range(5, 405):
            flows = [nfgen.flow(tick * 30 + k) for k in range(30)]
            s6.sendto(nfgen.v5(flows, sequence=tick * 30), ("::1", port))
            sent_normal += 30
            for k in range(PER_TICK):
                n = tick * PER_TICK + k
                # a sequence number far from the last: no continuity
                spoofers[n % SPOOFERS].sendto(
                    fairrig.wide_datagram(n * 0x10000001 & 0xffffffff,
                                          n * WIDE_RECORDS, WIDE_RECORDS),
                    ("127.0.0.1", port))
                sent_wide += WIDE_RECORDS
            delay = t0 + (tick + 1) * 0.01 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        for s in spoofers:
            s.close()
        s6.close()
        during = rig.metrics()
        m = rig.settle_and_stop(check, sent_normal)
        wide_flows = sum(int(x) for x in re.findall(
            r'^netflowd_flows_total\{exporter="127\.1\.[^"]+"\} (\d+)$', m, re.M))
        wide_dropped = sum(int(x) for x in re.findall(
            r'^netflowd_exporter_output_dropped_total\{exporter="127\.1\.[^"]+"\} (\d+)$',
            m, re.M))
        shed, full = rig.check_honest(check, m, during, sent_normal, sent_wide,
                                      wide_flows)
        check(wide_dropped == shed + full,
              "the spoofers' losses counted against them: %r" % wide_dropped)
        log = rig.daemon.log()
        check("records shed" in log and "(group unproven)" in log,
              "the shedding logged with the exporter and its group")
        check("exporter ::1 " not in log or "records shed" not in
              "".join(l for l in log.splitlines() if "exporter ::1 " in l),
              "the honest exporter never named in a shed line")
        check(log.count("records shed") <= 12, "and rate-limited")
    finally:
        rig.cleanup()


main()
check.done()
