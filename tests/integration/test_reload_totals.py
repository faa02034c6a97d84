#!/usr/bin/env python3
"""Issue 19 item 3: counters are the process's, not the current output's.

20 reloads that each replace the output (another directory, compression
on and off). /metrics is read all along by a thread: no counter of the
output (records, files, disk bytes, write errors, records lost by
reason) ever goes down. Every fourth output loses the records of its
last slot at its end, on the retire thread (its fdatasync fails: the
NETFLOWD_TEST_FDATASYNC hook, daemon/test-hooks.c): exactly those are
counted lost, as io_error, and every other record is in a file."""
import glob
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("reload-totals")
PER = 10
ROUNDS = 20
COUNTERS = ["netflowd_output_records_total", "netflowd_output_files_total",
            "netflowd_output_disk_bytes_total", "netflowd_write_errors_total",
            'netflowd_records_lost_total{reason="io_error"}',
            'netflowd_records_lost_total{reason="not_published"}']


def datagram(n):
    return nfgen.v5([nfgen.flow(n * PER + i) for i in range(PER)],
                    sequence=n * PER)


def text(port, mport, directory, compress):
    return ("[collector]\nlisten = 127.0.0.1:%d\n"
            "[output]\ndirectory = %s\nrotate = 1s\ncompress = %s\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n" % (port, directory, compress, mport))


class Watch(threading.Thread):
    """Reads /metrics until stopped; remembers every decrease."""

    def __init__(self, mport):
        super().__init__()
        self.mport = mport
        self.stopping = threading.Event()
        self.last = {}
        self.decreases = []
        self.samples = 0

    def run(self):
        while not self.stopping.is_set():
            try:
                m = nftest.metrics(self.mport)
            except OSError:
                continue
            self.samples += 1
            for name in COUNTERS:
                v = nftest.metric(m, name)
                if v is None:
                    continue
                if v < self.last.get(name, 0):
                    self.decreases.append((name, self.last[name], v))
                self.last[name] = v


def main():
    port, mport = nftest.free_port(), nftest.free_tcp_port()
    work = None
    d = None
    watch = None
    try:
        d = nftest.Daemon(NETFLOWD, None)
        work = d.dir
        ctl = os.path.join(work, "ctl")
        os.mkdir(ctl)
        dirs = [os.path.realpath(os.path.join(work, "out%d" % i)) for i in range(ROUNDS + 1)]
        compress = ["none", "gzip"]
        d.config = os.path.join(work, "netflowd.conf")
        with open(d.config, "w") as f:
            f.write(text(port, mport, dirs[0], compress[0]))
        os.environ["NETFLOWD_TEST_FDATASYNC"] = ctl
        try:
            d.start()
        finally:
            del os.environ["NETFLOWD_TEST_FDATASYNC"]
        watch = Watch(mport)
        watch.start()
        sent = lost = 0
        n = 0

        def value(name):
            return nftest.metric(nftest.metrics(mport), name) or 0

        def quiet(directory):
            # everything the output has is in a published file
            return value("netflowd_output_records_total") == sent and \
                not glob.glob(os.path.join(directory, ".*.tmp"))
        for i in range(ROUNDS):
            cur = dirs[i]
            check(nftest.wait_for(lambda: quiet(cur), timeout=20),
                  "round %d: the output settles" % i)
            inject = i % 4 == 1
            io_before = value('netflowd_records_lost_total{reason="io_error"}')
            if inject:
                with open(os.path.join(ctl, "fail"), "w") as f:
                    f.write(cur + "\n")
            nftest.send([datagram(n + k) for k in range(5)], port)
            n += 5
            sent += 5 * PER
            check(nftest.wait_for(lambda: value("netflowd_output_records_total") == sent),
                  "round %d: records reach the output" % i)
            with open(d.config, "w") as f:
                f.write(text(port, mport, dirs[i + 1], compress[(i + 1) % 2]))
            swaps = d.log().count("output now")
            d.signal(signal.SIGHUP)
            check(nftest.wait_for(lambda: d.log().count("output now") > swaps),
                  "round %d: the output is replaced" % i)
            if inject:
                ok = nftest.wait_for(lambda: value(
                    'netflowd_records_lost_total{reason="io_error"}') >= io_before + 5 * PER,
                    timeout=20)
                got = value('netflowd_records_lost_total{reason="io_error"}') - io_before
                check(ok and got == 5 * PER, "round %d: the retired output's "
                      "last slot counted lost exactly: %d of %d" % (i, got, 5 * PER))
                lost += 5 * PER
                os.unlink(os.path.join(ctl, "fail"))
            if check.failures:
                break
        check(nftest.wait_for(lambda: quiet(dirs[ROUNDS]), timeout=20), "the last output settles")

        def published():
            return [p for dd in dirs for p in glob.glob(os.path.join(dd, "*.json*"))]
        # the last retired output is reaped once its thread is done
        # and every record is in a published file or counted lost (a slow
        # build's retiring output may still be closing its slot)
        nftest.wait_for(lambda: value("netflowd_output_files_total") == len(published())
                        and value("netflowd_records_written_total") == sent - lost,
                        timeout=30)
        final = nftest.metrics(mport)
        watch.stopping.set()
        watch.join()
        check(watch.samples > 20 and not watch.decreases,
              "no counter went down in %d samples: %r" % (watch.samples, watch.decreases[:5]))
        check(nftest.metric(final, "netflowd_output_records_total") == sent,
              "records over all outputs: %r of %d"
              % (nftest.metric(final, "netflowd_output_records_total"), sent))
        check(nftest.metric(final, 'netflowd_records_lost_total{reason="io_error"}') == lost,
              "io_error losses: %r, injected %d"
              % (nftest.metric(final, 'netflowd_records_lost_total{reason="io_error"}'), lost))
        files = published()
        check(nftest.metric(final, "netflowd_output_files_total") == len(files),
              "files counted over all outputs: %r, %d published"
              % (nftest.metric(final, "netflowd_output_files_total"), len(files)))
        records = sum(len(strictjson.check_file(p)) for p in files)
        check(records == sent - lost, "%d records in files, %d sent, %d lost"
              % (records, sent, lost))
        check("Input/output error: not published" in d.log(),
              "the failed fdatasync is logged")
        check(d.stop() == 0, "exit 0")
    except Exception:
        if d is not None and d.proc is not None:
            print(d.log()[-3000:], file=sys.stderr)
        raise
    finally:
        if watch is not None:
            watch.stopping.set()
        if d is not None:
            d.cleanup()
    check.done()


if __name__ == "__main__":
    main()
