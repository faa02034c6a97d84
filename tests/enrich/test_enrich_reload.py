#!/usr/bin/env python3
"""[enrich] databases replaced while records arrive: SIGHUP reopens them
(a new one is used from a record boundary on), a truncated, empty,
garbage or (not as root) unreadable one on SIGHUP
is refused and logged with its path while the old one keeps working, and
one renamed into place without a signal is picked up by the file check
(check_interval = 1s, so the test waits for the switch with a deadline,
not a sleep). No record is lost: every datagram sent is a line, and each
line's AS number and name belong to one database generation, in order.
Exits 77 without mmdblookup or the Perl writer."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import mmdbtest  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("enrich-reload")
GENERATIONS = [(64501, "First"), (65001, "Second ✓"), (65002, "Third")]


def mkmmdb(path, asn, name):
    mmdbtest.mkmmdb("geolite2-asn", path,
                    [{"network": "10.0.0.0/8", "asn": asn, "as_name": name},
                     {"network": "2001:db8::/32", "asn": asn + 1, "as_name": name}])


def datagram(n):
    """NetFlow v5, one flow; its byte count says which one it is."""
    hdr = struct.pack("!HHIIIIBBH", 5, 1, 1000, 1700000000, 0, n, 0, 0, 0)
    rec = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH",
                      bytes([10, (n >> 16) & 255, (n >> 8) & 255, n & 255]),
                      bytes([10, 200, 0, 1]), bytes(4), 1, 2, 1, n + 1,
                      500, 900, 1234, 80, 0, 0, 6, 0, 0, 0, 24, 24, 0)
    return hdr + rec


def lines(path):
    with open(path, "rb") as f:
        data = f.read()
    # the last line may be on its way
    data = data[:data.rfind(b"\n") + 1]
    return strictjson.lines(data, "stdout")


def latest_as(path):
    recs = lines(path)
    return recs[-1].get("src_as") if recs else None


def main():
    mmdbtest.skip_unless_ready(sys.argv[2:3] != ["nomaxminddb"])
    d = tempfile.mkdtemp(prefix="netflowd-enrich-reload-")
    db = os.path.join(d, "asn.mmdb")
    out = os.path.join(d, "stdout.jsonl")
    for i, (asn, name) in enumerate(GENERATIONS):
        mkmmdb(os.path.join(d, "gen%d.mmdb" % i), asn, name)
    shutil.copy(os.path.join(d, "gen0.mmdb"), db)
    port = nftest.free_port()
    mport = nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n"
            "[enrich]\nasn_database = %s\ncheck_interval = 1s\n"
            % (port, mport, db))
    outf = open(out, "wb")
    daemon = nftest.Daemon(NETFLOWD, conf, args=["--stdout"], workdir=d,
                           stdout=outf)
    stream = None
    try:
        daemon.start()
        stream = nftest.Stream(port, datagram, pause=0.0005)
        stream.thread.start()
        check(nftest.wait_for(lambda: latest_as(out) == 64501, 10),
              "first database in use")

        # SIGHUP with a new database renamed into place
        shutil.copy(os.path.join(d, "gen1.mmdb"), db + ".new")
        os.rename(db + ".new", db)
        daemon.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: latest_as(out) == 65001, 10),
              "SIGHUP: the second database in use")

        # a truncated file on SIGHUP: refused, the second one stays
        with open(os.path.join(d, "gen2.mmdb"), "rb") as f:
            data = f.read()
        with open(db + ".new", "wb") as f:
            f.write(data[:len(data) // 2])
        os.rename(db + ".new", db)
        before = daemon.log().count("reload failed")
        daemon.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: daemon.log().count("reload failed") >
                              before, 10), "a truncated database fails the "
              "reload")
        check(db in daemon.log() and "invalid metadata" in daemon.log(),
              "the failure names the path and libmaxminddb's message")
        # empty, garbage and (not as root) unreadable: refused alike
        bad = {"empty": b"", "garbage": b"not a MaxMind DB file\n" * 64}
        for what, content in bad.items():
            with open(db + ".new", "wb") as f:
                f.write(content)
            os.rename(db + ".new", db)
            before = daemon.log().count("reload failed")
            daemon.signal(signal.SIGHUP)
            check(nftest.wait_for(lambda: daemon.log().count("reload failed")
                                  > before, 10), "%s database fails the "
                  "reload" % what)
        if os.geteuid() != 0:
            shutil.copy(os.path.join(d, "gen2.mmdb"), db + ".new")
            os.chmod(db + ".new", 0)
            os.rename(db + ".new", db)
            before = daemon.log().count("reload failed")
            daemon.signal(signal.SIGHUP)
            check(nftest.wait_for(lambda: daemon.log().count("reload failed")
                                  > before, 10), "unreadable database fails "
                  "the reload")
        n = len(lines(out))
        check(nftest.wait_for(lambda: len(lines(out)) > n + 50, 10),
              "records keep coming")
        check(latest_as(out) == 65001, "the second database still in use")

        # renamed into place, no signal: the file check picks it up
        shutil.copy(os.path.join(d, "gen2.mmdb"), db + ".new")
        os.rename(db + ".new", db)
        check(nftest.wait_for(lambda: latest_as(out) == 65002, 15),
              "a database renamed into place is picked up without SIGHUP")
        check("enrichment files changed on disk: reopened" in daemon.log(),
              "the pick-up is logged")
    finally:
        if stream is not None:
            stream.stop.set()
            stream.thread.join()
    # everything sent has arrived before stopping
    sent = stream.next if stream else 0
    nftest.wait_for(lambda: len(lines(out)) >= sent, 10)
    m = nftest.metrics(mport)
    lookups = nftest.metric(m, "netflowd_enrich_lookups_total")
    hits = nftest.metric(m, "netflowd_enrich_cache_hits_total")
    check(lookups and hits and lookups + hits == 2 * sent,
          "metrics: %r lookups + %r hits for %d records" %
          (lookups, hits, sent))
    check(nftest.metric(m, "netflowd_enrich_records_total") == sent,
          "metrics: every record enriched")
    check(nftest.metric(m, 'netflowd_enrich_file_reloads_total{result="ok"}')
          == 1, "metrics: one pick-up from disk")
    rc = daemon.stop()
    outf.close()
    check(rc == 0, "exit status %s" % rc)
    recs = lines(out)
    check(len(recs) == sent, "%d lines for %d datagrams sent" %
          (len(recs), sent))
    ids = [r["bytes"] - 1 for r in recs]
    check(sorted(ids) == list(range(sent)), "every flow exactly once")
    # each line from one generation, generations in order
    gen_of = {asn: i for i, (asn, _) in enumerate(GENERATIONS)}
    last = 0
    for r in recs:
        g = gen_of.get(r.get("src_as"))
        if not check(g is not None, "src_as %r from a database" %
                     r.get("src_as")):
            break
        check(r.get("src_as_name") == GENERATIONS[g][1] and
              r.get("dst_as") == GENERATIONS[g][0],
              "number and name of one generation: %r" % r)
        check(g >= last, "generations in order (%d after %d)" % (g, last))
        last = g
    check(last == 2, "ended on the third database")
    daemon.cleanup()
    check.done()


main()
