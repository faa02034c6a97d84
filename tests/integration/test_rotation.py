#!/usr/bin/env python3
"""Short rotation interval: several files, named by their UTC slot start,
each holding only its slot's records; a restart never overwrites a file;
an empty slot makes no file."""
import calendar
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("rotation")
NAME = re.compile(r"(\d{8}T\d{6}Z)(-\d+)?\.json")


def slot_of(name):
    return calendar.timegm(time.strptime(NAME.fullmatch(name).group(1), "%Y%m%dT%H%M%SZ"))


def received(r):
    t = r["time_received"]
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + int(t[20:23]) / 1000


def short_interval():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "-o", "flows", "-r", "1"])
    try:
        d.start()
        sent = 0
        t_end = time.time() + 3.6
        while time.time() < t_end:
            nftest.send([nfgen.v5([nfgen.flow(sent)])], port)
            sent += 1
            time.sleep(0.1)
        # one slot with no traffic at all, then stop
        time.sleep(2.2)
        check(d.stop() == 0, "exit 0")
        files = d.files()
        check(all(NAME.fullmatch(f) for f in files), "names: %r" % files)
        check(len(files) >= 3, "at least 3 files for 3.6 s at 1 s rotation: %r" % files)
        slots = [slot_of(f) for f in files]
        check(len(set(slots)) == len(slots), "one file per slot")
        total = 0
        for f in files:
            s = slot_of(f)
            lines = strictjson.check_file(os.path.join(d.outdir, f))
            total += len(lines)
            check(len(lines) > 0, "%s: no empty files" % f)
            for r in lines:
                t = received(r)
                if not check(s <= t < s + 1, "%s holds a record received at %s" % (f, r["time_received"])):
                    break
        check(total == sent, "all %d records written (%d)" % (sent, total))
    finally:
        d.cleanup()


def restart_never_overwrites():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "-o", "flows", "-r", "3600"])
    try:
        os.makedirs(d.outdir)
        now = int(time.time())
        slot = now - now % 3600
        name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(slot)) + ".json"
        precious = os.path.join(d.outdir, name)
        with open(precious, "w") as f:
            f.write('{"precious":true}\n')
        # and a temporary file a crashed run left behind
        with open(os.path.join(d.outdir, ".20200101T000000Z.json.tmp"), "w") as f:
            f.write('{"recovered":true}\n')
        d.start()
        nftest.send([nfgen.v5([nfgen.flow(7)])], port)
        time.sleep(0.3)
        check(d.stop() == 0, "exit 0")
        with open(precious) as f:
            check(f.read() == '{"precious":true}\n', "existing file untouched")
        files = d.files()
        check(name.replace(".json", "-1.json") in files, "new file got a suffix: %r" % files)
        check("20200101T000000Z.json" in files, "crashed run's temp file recovered: %r" % files)
        check(not any(f.startswith(".") for f in files), "no temp files: %r" % files)
    finally:
        d.cleanup()


short_interval()
restart_never_overwrites()
check.done()
