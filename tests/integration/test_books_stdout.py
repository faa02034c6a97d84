#!/usr/bin/env python3
"""SIGTERM with a stalled --stdout reader (issue 24 item 2, issue 25
item 6): the reader reads a fixed number of bytes and then never again,
so the pipe fills and stays full, whatever the timing; netflowd gives up
after its exit deadline. Afterwards the pipe is drained: what arrived is
whole lines only (strict JSON, the last one ends in a newline), and per
exporter flows = lines arrived + not kept by the loop + lost after writing
began, exactly; in total written = lines arrived and flows = written +
lost. Also the reader that goes away (EPIPE): the same books."""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nftest  # noqa: E402
import strictjson  # noqa: E402
import books  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("books_stdout")


def run(read_first, datagrams_a, datagrams_b, what, close_reader=False):
    port = nftest.free_port()
    r, w = os.pipe()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "--stdout"],
                      stdout=w)
    got = []
    try:
        d.start()
        os.close(w)
        stalled = threading.Event()

        def reader():
            n = 0
            while n < read_first:
                b = os.read(r, min(65536, read_first - n))
                if not b:
                    break
                got.append(b)
                n += len(b)
            stalled.set()

        t = threading.Thread(target=reader)
        t.start()
        sent = books.send_from("127.0.0.1", port, datagrams_a, 0)
        sent += books.send_from("127.0.0.2", port, datagrams_b, 10 ** 6)
        check(books.wait_received(d, datagrams_a + datagrams_b),
              "%s: all datagrams received" % what)
        t.join()
        check(stalled.is_set(), "%s: the reader read its %d bytes" %
              (what, read_first))
        if close_reader:
            os.close(r)
            r = None
            # a line written from now on meets EPIPE, and netflowd exits
            # on its own (all before may have gone into the pipe already)
            more = 0
            while d.alive() and more < 200:
                more += books.send_from("127.0.0.1", port, 1, 5 * 10 ** 6 +
                                        more)
                nftest.wait_for(lambda: not d.alive(), timeout=0.2)
            check(not d.alive(), "%s: netflowd exits when the reader "
                  "went away" % what)
        rc = d.stop(timeout=30)
        if r is not None:
            # the daemon is gone: the rest of the pipe, to its end
            while True:
                b = os.read(r, 1 << 20)
                if not b:
                    break
                got.append(b)
        data = b"".join(got)
        log = d.log()
        if close_reader:
            check(rc == 1, "%s: exit 1 when the reader went away (%r)" %
                  (what, rc))
            check("pipe_closed" in log, "%s: pipe_closed logged" % what)
        else:
            check(rc == 0, "%s: exit 0 (%r)" % (what, rc))
            check("shutdown_timeout" in books.final_stats(log),
                  "%s: the deadline passed (shutdown_timeout)" % what)
        b = books.parse(log)
        if close_reader:
            # what was in the pipe when the reader closed it is written
            # but never read: only the totals can be held to the record
            whole = data[:data.rfind(b"\n") + 1]
            n = len(strictjson.lines(whole, what))
            flows = sum(b["flows"].values())
            check(b["written"] is not None and flows == b["written"] +
                  b["lost"], "%s: %d flows = %r written + %r lost" %
                  (what, flows, b["written"], b["lost"]))
            check(b["written"] is not None and b["written"] >= n,
                  "%s: %r written, %d read" % (what, b["written"], n))
            check(b["unknown"] == 0, "%s: lost without exporter" % what)
            return
        check(data.endswith(b"\n"), "%s: no half line at the end (%r)" %
              (what, data[-80:]))
        try:
            lines = books.count_by_exporter(strictjson.lines(data, what))
        except strictjson.StrictJSONError as e:
            check(False, "%s: %s" % (what, e))
            return
        check(sum(lines.values()) < sent, "%s: the reader stalled before "
              "the end (%d of %d)" % (what, sum(lines.values()), sent))
        books.check_books(check, what, b, lines, log)
        check(sum(b["flows"].values()) > 0, "%s: flows decoded" % what)
    finally:
        if r is not None:
            os.close(r)
        d.cleanup()


# The reader stops mid-line (an odd count), one exporter sending twice the
# other; then one that stops after nothing at all; then one that closes.
run(300001, 400, 200, "stalled after 300001 bytes")
run(0, 200, 100, "never read")
run(100003, 200, 100, "reader closed", close_reader=True)
check.done()
