"""The books at exit, from netflowd's final stats lines: per exporter the
records decoded, those the loop could not keep and those lost after
writing began; in total the records written and lost. Shared by the
tests of every stop path (test_books*.py)."""
import collections
import re
import socket
import sys

import nfgen
import nftest


def final_stats(log):
    """The stats lines logged at the end: after "shutting down" (SIGTERM)
    or after "standard output was closed" (netflowd exits by itself)."""
    at = max(log.rfind("shutting down"),
             log.rfind("standard output was closed"))
    return log[at:] if at >= 0 else ""


def parse(log):
    """-> dict: flows, kept_not (loop losses), lost_after per exporter;
    written, lost in total; unknown (writer losses without exporter)."""
    final = final_stats(log)
    b = {"flows": {}, "loop_lost": {}, "lost_after": collections.Counter(),
         "written": None, "lost": None, "unknown": 0}
    for m in re.finditer(r"stats: exporter (\S+): \d+ datagrams, \d+ bytes, "
                         r"(\d+) flows, .*?, (\d+) flows the output could "
                         r"not keep", final):
        b["flows"][m.group(1)] = int(m.group(2))
        b["loop_lost"][m.group(1)] = int(m.group(3))
    for m in re.finditer(r"stats: output: exporter (\S+): (\d+) records lost "
                         r"after writing began", final):
        b["lost_after"][m.group(1)] += int(m.group(2))
    m = re.search(r"stats: output: (\d+) records lost after writing began, "
                  r"exporter unknown", final)
    if m:
        b["unknown"] = int(m.group(1))
    m = re.search(r"stats: output: (\d+) records lost.*?, (\d+) written", final)
    if m:
        b["lost"], b["written"] = int(m.group(1)), int(m.group(2))
    return b


def check_books(check, what, b, lines, log=None):
    """lines: exporter -> lines that arrived whole. Everything adds up,
    per exporter and in total, to the record. With log, its final stats
    are shown when something does not."""
    failures = check.failures
    check(b["written"] is not None and b["flows"], "%s: final stats "
          "lines found" % what)
    if b["written"] is None:
        return
    total_lines = sum(lines.values())
    check(b["written"] == total_lines, "%s: %d written by the stats, %d "
          "lines arrived" % (what, b["written"], total_lines))
    flows = sum(b["flows"].values())
    check(flows == b["written"] + b["lost"], "%s: %d flows != %d written + "
          "%d lost" % (what, flows, b["written"], b["lost"]))
    check(b["unknown"] == 0, "%s: %d lost records without exporter" %
          (what, b["unknown"]))
    for e, f in b["flows"].items():
        got = lines.get(e, 0) + b["loop_lost"][e] + b["lost_after"][e]
        check(f == got, "%s: exporter %s: %d flows != %d lines + %d not kept "
              "+ %d lost after writing began" % (what, e, f, lines.get(e, 0),
                                                 b["loop_lost"][e],
                                                 b["lost_after"][e]))
    check(set(lines) <= set(b["flows"]), "%s: lines of unknown exporters "
          "%r" % (what, set(lines) - set(b["flows"])))
    if log is not None and check.failures > failures:
        print(final_stats(log), file=sys.stderr)


def send_from(addr, port, datagrams, first, per=30):
    """datagrams v5 datagrams of per flows each, from addr, flow numbers
    from first; returns how many flows were sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((addr, 0))
        for i in range(datagrams):
            flows = [nfgen.flow(first + i * per + k) for k in range(per)]
            s.sendto(nfgen.v5(flows, sequence=i * per), ("127.0.0.1", port))
    return datagrams * per


def count_by_exporter(records):
    c = collections.Counter()
    for r in records:
        c[r["exporter"]] += 1
    return c


def wait_received(d, datagrams, timeout=30):
    """Until the stats (SIGUSR1) count the datagrams sent."""
    return nftest.wait_for(lambda: d.signal(10) or re.search(
        r"stats: %d datagrams" % datagrams, d.log()), timeout=timeout, step=0.3)
