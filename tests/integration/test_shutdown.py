#!/usr/bin/env python3
"""SIGTERM: the final stats lines are taken after the last file was closed
and renamed into place, so their file count and disk bytes are those of the
directory (issue 13 item 12)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("shutdown")
SENT = 200


def main():
    port = nftest.free_port()
    for extra in ([], ["--stdout"]):
        d = nftest.Daemon(NETFLOWD, None,
                          args=["-p", str(port), "-o", "flows", "-r", "3600"] + extra)
        try:
            d.start()
            nftest.send([nfgen.v5([nfgen.flow(i)]) for i in range(SENT)], port)
            check(nftest.wait_for(lambda: d.signal(10) or
                                  re.search(r"stats: %d datagrams" % SENT, d.log()),
                                  timeout=20, step=0.5),
                  "%s: all datagrams seen" % extra)
            check(d.stop() == 0, "exit 0")
            log = d.log()
            final = log[log.rindex("shutting down"):]
            m = re.search(r"stats: .* (\d+) files,", final)
            o = re.search(r"stats: output: (\d+) records, (\d+) JSON bytes, "
                          r"(\d+) bytes to disk", final)
            if not check(m and o, "final stats lines:\n" + final):
                continue
            files = [f for f in d.files() if not f.startswith(".")]
            if extra:
                check(int(m.group(1)) == 0, "stdout: 0 files")
                check(int(o.group(2)) > 0, "stdout: JSON bytes counted")
                continue
            size = sum(os.path.getsize(os.path.join(d.outdir, f)) for f in files)
            check(len(files) == 1, "one file: %r" % files)
            check(int(m.group(1)) == len(files),
                  "final stats say %s files, the directory has %d" % (m.group(1), len(files)))
            check(int(o.group(1)) == SENT, "records %s" % o.group(1))
            check(int(o.group(3)) == size,
                  "final stats say %s bytes to disk, the files hold %d" % (o.group(3), size))
            check(int(o.group(2)) == size, "JSON bytes %s == file bytes %d" % (o.group(2), size))
        finally:
            d.cleanup()


main()
check.done()
