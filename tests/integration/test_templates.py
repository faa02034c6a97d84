#!/usr/bin/env python3
"""Templates over UDP through the real daemon: data that arrives before its
template is held and decoded (with its own receive time) when the template
comes; templates survive a restart through the state file; a corrupt state
file is reported and ignored."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("templates")
CONF = "[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\nrotate = 1h\n" \
       "[templates]\nstate_file = %s\n"


def ms(t):
    """RFC 3339 with milliseconds -> seconds since the epoch."""
    import calendar
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + int(t[20:23]) / 1000


def data_before_template():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, CONF % (port, "/dev/null/none"))
    try:
        d.start()
        flows = [nfgen.flow(i) for i in range(5)]
        t_data = time.time()
        nftest.send([nfgen.v9(flows, with_template=False, source_id=3)], port)
        time.sleep(1.0)
        nftest.send([nfgen.v9([], with_template=True, source_id=3)], port)
        time.sleep(0.3)
        check(d.stop() == 0, "exit 0")
        recs = [r for r in d.records() if r.get("domain") == 3]
        check(len(recs) == 5, "held data decoded when the template came: %d of 5" % len(recs))
        for r in recs:
            check(abs(ms(r["time_received"]) - t_data) < 0.5,
                  "original receive time kept: %s" % r["time_received"])
        check("dropped" not in d.log(), "nothing dropped")
    finally:
        d.cleanup()


def restart_with_state():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None)
    state = os.path.join(d.dir, "templates.state")
    conf = CONF % (port, state)
    try:
        first = nftest.Daemon(NETFLOWD, conf, workdir=d.dir)
        first.start()
        nftest.send([nfgen.v9([], with_template=True, source_id=9)], port)
        time.sleep(0.3)
        check(first.stop() == 0, "exit 0")
        check(os.path.exists(state), "state file written at shutdown")
        second = nftest.Daemon(NETFLOWD, conf, workdir=d.dir)
        second.start()
        check("restored 1 templates" in second.log(), "templates restored: " + second.log())
        flows = [nfgen.flow(100 + i) for i in range(4)]
        nftest.send([nfgen.v9(flows, with_template=False, source_id=9)], port)
        time.sleep(0.3)
        check(second.stop() == 0, "exit 0")
        recs = [r for r in second.records() if r.get("domain") == 9]
        check(len(recs) == 4, "data after a restart decoded from the saved template: %d" % len(recs))
        if recs:
            check(recs[0]["bytes"] == flows[0]["bytes"] and recs[0]["src_addr"] == flows[0]["src"],
                  "decoded right: %r" % recs[0])
        # a corrupt state file: reported, ignored, the daemon runs
        with open(state, "wb") as f:
            f.write(b"NFDSTATE garbage" * 10)
        third = nftest.Daemon(NETFLOWD, conf, workdir=d.dir)
        third.start()
        check("templates not restored" in third.log(), "corrupt state reported: " + third.log())
        nftest.send([nfgen.v9([nfgen.flow(200)], with_template=True, source_id=9)], port)
        time.sleep(0.3)
        check(third.stop() == 0, "exit 0 after a corrupt state file")
    finally:
        d.cleanup()


data_before_template()
restart_with_state()
check.done()
