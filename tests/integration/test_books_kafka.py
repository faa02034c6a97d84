#!/usr/bin/env python3
"""Dead Kafka brokers at SIGTERM (issue 24 item 2): files and Kafka beside
each other; a first burst is delivered, then every broker goes down
(tests/kafka/mock-cluster) and a second burst can only fail. At exit:
- the files: per exporter flows = lines + not kept + lost after writing
  began, exactly, and written = the files' lines;
- Kafka: produced = delivered + failed (nothing in flight), every record
  rendered was produced, and once the brokers are up again the topic
  holds exactly the delivered records, each once, per exporter the first
  burst (the second failed whole: it was produced with no broker up).
Kafka's failures are counted in total and by reason, not per exporter.

usage: test_books_kafka.py NETFLOWD MOCK_CLUSTER; exit 77 without kcat."""
import collections
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nftest  # noqa: E402
import books  # noqa: E402

NETFLOWD, MOCK = (os.path.abspath(a) for a in sys.argv[1:3])
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
if KCAT is None:
    print("kcat not installed: skipped", file=sys.stderr)
    sys.exit(77)
check = nftest.Check("books_kafka")


class Cluster:
    def __init__(self):
        self.proc = subprocess.Popen([MOCK, "3"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        self.cmd("topic flows 3")

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError("mock-cluster %r: %r" % (line, answer))

    def consume(self):
        r = subprocess.run([KCAT, "-C", "-b", self.bootstrap, "-t", "flows",
                            "-e", "-q", "-f", "%k\t%s\n"], capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("kcat: " + r.stderr.decode(errors="replace"))
        return [line.split("\t", 1) for line in r.stdout.decode().splitlines()]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def kafka_line(log):
    """The producer's books when it closed, after the final flush: what
    was still queued then counts as failed (left at shutdown)."""
    m = re.search(r"kafka: producer for topic flows closed: (\d+) produced, "
                  r"(\d+) delivered, (\d+) failed \((\d+) left at shutdown\)",
                  books.final_stats(log))
    return tuple(int(x) for x in m.groups()) if m else None


def main():
    cl = Cluster()
    port = nftest.free_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\n[output]\ndirectory = @OUT@\n"
            "rotate = 3600\n[kafka]\nbrokers = %s\ntopic = flows\n"
            "message_timeout = 60s\n" % (port, cl.bootstrap))
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        d.start()
        first = collections.Counter()
        first["127.0.0.1"] = books.send_from("127.0.0.1", port, 40, 0)
        first["127.0.0.2"] = books.send_from("127.0.0.2", port, 20, 10 ** 6)
        check(nftest.wait_for(lambda: d.signal(10) or re.search(
            r"stats: kafka: 1800 produced, 1800 delivered, 0 failed, 0 in "
            r"flight", d.log()), timeout=60, step=0.5),
            "the first burst delivered:\n" + d.log()[-2000:])
        cl.cmd("down")
        books.send_from("127.0.0.1", port, 40, 10 ** 5)
        books.send_from("127.0.0.2", port, 20, 2 * 10 ** 6)
        check(books.wait_received(d, 120), "the second burst received")
        check(d.stop(timeout=60) == 0, "exit 0 with every broker down")
        log = d.log()
        records = d.records()
        b = books.parse(log)
        books.check_books(check, "files beside dead brokers", b,
                          books.count_by_exporter(records), log)
        k = kafka_line(log)
        if not check(k is not None, "kafka stats line:\n" + books.final_stats(log)):
            return
        produced, delivered, failed, left = k
        check(produced == delivered + failed,
              "kafka: %d produced = %d delivered + %d failed (%d left at "
              "shutdown)" % (produced, delivered, failed, left))
        rendered = sum(b["flows"].values()) - sum(b["loop_lost"].values())
        check(produced == rendered, "kafka: %d produced, %d rendered" %
              (produced, rendered))
        check(delivered == 1800 and failed == 1800, "kafka: the first burst "
              "delivered, the second failed (%d, %d)" % (delivered, failed))
        cl.cmd("up")
        msgs = cl.consume()
        values = [v for _, v in msgs]
        check(len(values) == len(set(values)) == delivered,
              "the topic holds each delivered record once (%d, %d)" %
              (len(values), delivered))
        by = collections.Counter(json.loads(v)["exporter"] for v in values)
        check(by == first, "per exporter the first burst: %r, %r" %
              (dict(by), dict(first)))
        check(all(k == json.loads(v)["exporter"] for k, v in msgs),
              "key = exporter")
    finally:
        d.cleanup()
        cl.close()


main()
check.done()
