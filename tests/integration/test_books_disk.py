#!/usr/bin/env python3
"""A full disk (issue 24 item 2): the output directory is a tmpfs far
smaller than the traffic, so writes fail with ENOSPC whatever the timing;
after SIGTERM every published file is whole (strict JSON, gzip -t), and
per exporter flows = lines in the files + not kept by the loop + lost
after writing began (disk_full), exactly; in total written = the files'
lines and flows = written + lost. Needs root and a tmpfs mount: exit 77
(skipped) without them."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nftest  # noqa: E402
import books  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("books_disk")


def mount(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", path], capture_output=True)
    return r.returncode == 0


def run(codec, size):
    port = nftest.free_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "rotate = 3600\ncompress = %s\n" % (port, codec))
    d = nftest.Daemon(NETFLOWD, conf)
    mounted = False
    try:
        if not mount(d.outdir, size):
            return False
        mounted = True
        d.start()
        sent = books.send_from("127.0.0.1", port, 400, 0)
        sent += books.send_from("127.0.0.2", port, 200, 10 ** 6)
        check(books.wait_received(d, 600), "%s: all datagrams received" % codec)
        check(d.stop(timeout=30) == 0, "%s: exit 0" % codec)
        log = d.log()
        check("disk_full" in books.final_stats(log), "%s: disk_full counted"
              % codec)
        files = [f for f in d.files() if not f.startswith(".")]
        check(files, "%s: a file published (truncated)" % codec)
        for f in files:
            if codec == "gzip":
                t = subprocess.run(["gzip", "-t", os.path.join(d.outdir, f)],
                                   capture_output=True)
                check(t.returncode == 0, "gzip -t %s: %s" % (f, t.stderr))
        records = d.records()   # every line strict JSON
        check(0 < len(records) < sent, "%s: the disk took some, not all "
              "(%d of %d)" % (codec, len(records), sent))
        books.check_books(check, "disk full, " + codec, books.parse(log),
                          books.count_by_exporter(records), log)
    finally:
        if d.alive():
            d.proc.kill()
            d.proc.wait()
        if mounted:
            subprocess.run(["umount", d.outdir])
        d.cleanup()
    return True


if os.geteuid() != 0:
    print("needs root for a tmpfs mount: skipped", file=sys.stderr)
    sys.exit(77)
if not run("none", "1m"):
    print("cannot mount a tmpfs: skipped", file=sys.stderr)
    sys.exit(77)
run("gzip", "256k")
check.done()
