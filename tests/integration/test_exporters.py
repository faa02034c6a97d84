#!/usr/bin/env python3
"""Per-exporter counters come from the parser's exporter object: sequence
loss is visible in -D lines, the SIGUSR1 stats and /metrics, and drops are
charged to the exporter they belong to."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("exporters")




def main():
    port, mport = nftest.free_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nmax_exporters = 16\n"
            "held_data = 1M\n[output]\ndirectory = @OUT@\nrotate = 3600\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n" % (port, mport))
    d = nftest.Daemon(NETFLOWD, conf, args=["-D"])
    try:
        d.start()
        # 5 flows at 0, then at 8: 3 flows lost; then at 13, none
        flows = [nfgen.flow(i) for i in range(5)]
        nftest.send([nfgen.v5(flows, sequence=0), nfgen.v5(flows, sequence=8),
                     nfgen.v5(flows, sequence=13)], port)
        # v9 data whose template never comes: held, then a bad version
        nftest.send([nfgen.v9_header(1, 1, 1, 0, 7) + nfgen.v9_data_set(999, [b"\1" * 24])],
                     port)
        nftest.wait_for(lambda: "sequence 13: 5 records, 0 lost" in d.log(), timeout=5)
        log = d.log()
        check("sequence 8: 5 records, 3 lost" in log, "-D line shows the loss")
        m = nftest.metrics(mport)
        lbl = '{exporter="127.0.0.1"}'
        check(nftest.metric(m, "netflowd_sequence_lost_total" + lbl) == 3,
              "sequence loss in /metrics: %r" % re.findall(r"netflowd_sequence.*", m))
        check(nftest.metric(m, "netflowd_flows_total" + lbl) == 15, "flows by exporter")
        check(nftest.metric(m, "netflowd_exporter_datagrams_total" + lbl) == 4, "datagrams by exporter")
        check(nftest.metric(m, "netflowd_exporters") == 1, "one exporter")
        d.signal(signal.SIGUSR1)
        nftest.wait_for(lambda: "stats: exporter 127.0.0.1" in d.log(), timeout=5)
        check(re.search(r"stats: exporter 127\.0\.0\.1: 4 datagrams, \d+ bytes, 15 flows, "
                        r"3 lost in sequence", d.log()), "SIGUSR1 stats show the loss")
        check("3 lost in sequence" in d.log(), "SIGUSR1 total")
        # held data ages out on the timer (30 s): charged to its exporter
        deadline = time.time() + 45
        held = None
        while time.time() < deadline:
            held = nftest.metric(nftest.metrics(mport),
                         'netflowd_drops_total{exporter="127.0.0.1",reason="held_expired"}')
            if held:
                break
            time.sleep(1)
        check(held == 1, "expiry on the timer reaches /metrics: %r" % held)
        check(d.stop() == 0, "exit 0")
    finally:
        d.cleanup()


main()
check.done()
