#!/usr/bin/env python3
"""Issue 13 item 4, with the real daemon: one exporter cannot starve the
others. An exporter sending 65 KB IPFIX datagrams with a 512-field
template (110 records each, every record ~60 times the rendering work of
a NetFlow v5 one) next to a NetFlow v5 exporter, into an output that
cannot keep up: netflowd --stdout into a reader that reads 4 MB/s. The
render queue backs up; the wide exporter loses records, counted against
it as "fair_share"; the v5 exporter's records are all written.
Without fair shedding the full queue drops both alike.
No timing is asserted: the reader's rate only makes the output slow."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import fairrig  # noqa: E402
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("fairness")

WIDE_RECORDS = 110   # a datagram: 16 + 4076 + 4 + 110 * 534 = 64,836 bytes


def main():
    rig = fairrig.Rig(NETFLOWD)
    port = rig.port
    sent_normal = sent_wide = 0
    try:
        s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        # 4 s: v5 at 100 datagrams/s (3,000 records/s), the wide one at 50
        t0 = time.monotonic()
        for tick in range(400):
            flows = [nfgen.flow(tick * 30 + k) for k in range(30)]
            s6.sendto(nfgen.v5(flows, sequence=tick * 30), ("::1", port))
            sent_normal += 30
            if tick % 2 == 0:
                s4.sendto(fairrig.wide_datagram(tick // 2, tick * WIDE_RECORDS,
                                                WIDE_RECORDS),
                          ("127.0.0.1", port))
                sent_wide += WIDE_RECORDS
            delay = t0 + (tick + 1) * 0.01 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        s4.close()
        s6.close()
        during = rig.metrics()
        m = rig.settle_and_stop(check, sent_normal)

        def per(name, exporter):
            return nftest.metric(m, '%s{exporter="%s"}' % (name, exporter))
        shed, full = rig.check_honest(check, m, during, sent_normal, sent_wide,
                                      per("netflowd_flows_total", "127.0.0.1"))
        check(per("netflowd_exporter_output_dropped_total", "127.0.0.1") == shed + full,
              "the wide exporter's losses counted against it: %r" %
              per("netflowd_exporter_output_dropped_total", "127.0.0.1"))
        log = rig.daemon.log()
        check("records shed" in log and "127.0.0.1" in log,
              "the shedding logged with the exporter")
        check(log.count("records shed") <= 12, "and rate-limited")
    finally:
        rig.cleanup()


main()
check.done()
