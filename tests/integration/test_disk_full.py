#!/usr/bin/env python3
"""Issue 19 item 7: a write that fails for lack of room is said when it
happens, with its path, not only counted. The daemon runs with a file
size limit (RLIMIT_FSIZE, SIGXFSZ ignored): every write past 100 kB fails
(EFBIG) as a full disk would, without root or a mount. The log names
each failure's file and records lost; what the rate limiter held back is
said at the end ("and N more"); the counts of the log add up to the
records sent."""
import os
import re
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("disk-full")


def limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100000, 100000))


def main():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, "[collector]\nlisten = 127.0.0.1:%d\n"
                      "[output]\ndirectory = @OUT@\nrotate = 1h\n" % port)
    popen = subprocess.Popen

    def limited(*a, **k):
        k["preexec_fn"] = limit
        return popen(*a, **k)
    try:
        subprocess.Popen = limited
        try:
            d.start()
        finally:
            subprocess.Popen = popen
        sent = 0
        for n in range(400):
            nftest.send([nfgen.v5([nfgen.flow(n * 30 + i) for i in range(30)],
                                  sequence=n * 30)], port)
            sent += 30
        check(nftest.wait_for(lambda: "File too large" in d.log()),
              "the failure is logged when it happens, before shutdown:\n" + d.log())
        check(d.stop() == 0, "exit 0")
        log = d.log()
        tmp = re.escape(d.outdir) + r"/\.\d{8}T\d{6}Z\.json\.\d+\.tmp"
        check(re.search(r"<3>output: write %s: File too large: \d+ records lost, "
                        r"the file is cut back" % tmp, log),
              "the line names the file, the error and the records lost:\n" + log)
        m = re.search(r"stats: output: (\d+) records lost \(io_error (\d+)\)", log)
        check(m and int(m.group(1)) > 0, "the loss is counted as io_error: %r"
              % (m and m.group(0)))
        said = sum(int(x) for x in re.findall(r"File too large: (\d+) records lost", log))
        more = re.search(r"\(and (\d+) more io_error like the last, the latest at %s\)"
                         % tmp, log)
        check(said > 0 and (more or said == int(m.group(1))),
              "what the rate limiter held back is said at the end:\n" + log)
        written = len(d.records())
        check(m and written + int(m.group(1)) == sent,
              "%d records in files + %s lost = %d sent" % (written, m and m.group(1), sent))
    finally:
        d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
