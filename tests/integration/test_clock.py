#!/usr/bin/env python3
"""The wall clock steps while netflowd runs (issue 13 item 5): only the
daemon's clock, through libfaketime (FAKETIME_TIMESTAMP_FILE rewritten
during the test, monotonic clock left alone; never the host clock).
After a step back of an hour the open slot is published at once (not an
hour later), every file holds only records of its own slot, and the step
is logged; likewise a step forward."""
import calendar
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("clock")
LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
NAME = re.compile(r"(\d{8}T\d{6}Z)(-\d+)?\.json")
ROTATE = 60


def slot_of(name):
    return calendar.timegm(time.strptime(NAME.fullmatch(name).group(1), "%Y%m%dT%H%M%SZ"))


def received(r):
    t = r["time_received"]
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))


def set_offset(path, text):
    with open(path + ".new", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".new", path)


def published(d):
    return [f for f in d.files() if NAME.fullmatch(f)]


def main():
    if not os.path.exists(LIB):
        print("SKIP: no libfaketime (%s)" % LIB, file=sys.stderr)
        sys.exit(77)
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None,
                      args=["-p", str(port), "-o", "flows", "-r", str(ROTATE)])
    stamp = os.path.join(d.dir, "faketime")
    set_offset(stamp, "+0")
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ.update(LD_PRELOAD=LIB, FAKETIME_TIMESTAMP_FILE=stamp,
                      FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1",
                      ASAN_OPTIONS=(asan + ":" if asan else "") +
                      "verify_asan_link_order=0")
    sent = 0
    try:
        d.start()
        for k in range(30):
            nftest.send([nfgen.v5([nfgen.flow(sent)])], port)
            sent += 1
        time.sleep(1.5)
        first = int(time.time()) // ROTATE * ROTATE
        set_offset(stamp, "-3600")
        check(nftest.wait_for(lambda: "wall clock stepped back" in d.log(), timeout=20),
              "the step back is logged: %s" % d.log()[-500:])
        check(nftest.wait_for(lambda: any(abs(slot_of(f) - first) <= ROTATE
                                          for f in published(d)), timeout=20),
              "the slot open at the step is published at once: %r" % d.files())
        for k in range(30):
            nftest.send([nfgen.v5([nfgen.flow(sent)])], port)
            sent += 1
        time.sleep(1.5)
        set_offset(stamp, "+0")
        check(nftest.wait_for(lambda: "wall clock stepped forward" in d.log(), timeout=20),
              "the step forward is logged")
        check(nftest.wait_for(lambda: any(slot_of(f) < first - 1800
                                          for f in published(d)), timeout=20),
              "the slot of the hour before is published at the step forward: %r"
              % d.files())
        for k in range(30):
            nftest.send([nfgen.v5([nfgen.flow(sent)])], port)
            sent += 1
        time.sleep(1)
        check(d.stop() == 0, "exit 0")
        files = published(d)
        check(len(files) >= 3, "three slots at least: %r" % files)
        total = 0
        for f in files:
            s = slot_of(f)
            with open(os.path.join(d.outdir, f)) as fh:
                lines = [json.loads(x) for x in fh]
            total += len(lines)
            wrong = [r["time_received"] for r in lines
                     if not s <= received(r) < s + ROTATE]
            check(not wrong, "%s holds records of other slots: %r" % (f, wrong[:3]))
        check(total == sent, "every record written: %d of %d" % (total, sent))
        spans = sorted(slot_of(f) for f in files)
        check(spans[-1] - spans[0] >= 3600 - ROTATE,
              "an hour between the first and the last slot: %r" % files)
    finally:
        d.cleanup()


main()
check.done()
