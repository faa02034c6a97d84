#!/usr/bin/env python3
"""The Kafka sink against librdkafka's own broker implementation (3 mock
brokers on 127.0.0.1, tests/kafka/mock-cluster), consumed by Debian's kcat,
an independent client. Every scenario checks the Kafka side against the
files netflowd wrote in the same run: each record exactly once, the same
bytes, key = exporter, one partition per exporter, in order.

usage: test_kafka.py NETFLOWD MOCK_CLUSTER ANALYZER SCENARIO
Exit 77 (skipped) when kcat is missing."""
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD, MOCK, ANALYZER = (os.path.abspath(a) for a in sys.argv[1:4])
SCENARIO = sys.argv[4]
GOLDEN = os.path.join(HERE, "..", "golden")
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
if KCAT is None:
    print("kcat not installed: skipped")
    sys.exit(77)
check = nftest.Check("kafka-" + SCENARIO)


class Cluster:
    """tests/kafka/mock-cluster: 3 brokers, commands on stdin."""

    def __init__(self, topics=("flows",), partitions=3):
        self.proc = subprocess.Popen([MOCK, "3"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        for t in topics:
            self.cmd("topic %s %d" % (t, partitions))

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError("mock-cluster %r: %r" % (line, answer))

    def consume(self, topic, fmt="%k\t%p\t%o\t%s\n"):
        """Everything in topic, as kcat prints it (-e: up to the end)."""
        r = subprocess.run([KCAT, "-C", "-b", self.bootstrap, "-t", topic,
                            "-e", "-q", "-f", fmt], capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("kcat: " + r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def messages(text):
    """kcat lines -> [(key, partition, offset, value)]"""
    out = []
    for line in text.splitlines():
        key, part, off, value = line.split("\t", 3)
        out.append((key, int(part), int(off), value))
    return out


def written_order(name):
    """A slot's files in the order they were written: NAME.json, then
    NAME-1.json, NAME-2.json ... (plain sorting puts '-' before '.')."""
    m = re.match(r"^(\d{8}T\d{6}Z)(?:-(\d+))?\.", name)
    return (m.group(1), int(m.group(2) or 0)) if m else (name, 0)


def file_lines(d):
    """The records of the files in the order written: files by the time
    they were published (a reload that changes the rotation may name a
    new slot before the old one's)."""
    out = []
    for name in sorted(d.files(), key=written_order):
        if name.startswith("."):
            continue
        with open(os.path.join(d.outdir, name)) as f:
            out += [line.rstrip("\n") for line in f]
    return out


def same_records(msgs, lines, what):
    """Kafka holds exactly the file's lines, each once; keys, partitions
    and per-exporter order as promised."""
    values = [m[3] for m in msgs]
    dup = [v for v, n in collections.Counter(values).items() if n > 1]
    check(not dup, "%s: no record twice in Kafka (%d doubled)" % (what, len(dup)))
    check(collections.Counter(values) == collections.Counter(lines),
          "%s: Kafka holds exactly the records of the files (%d messages, "
          "%d lines)" % (what, len(values), len(lines)))
    by_key = collections.defaultdict(list)
    for key, part, off, value in msgs:
        by_key[key].append((part, off, value))
    for key, items in by_key.items():
        exporters = {json.loads(v)["exporter"] for _, _, v in items}
        check(exporters == {key}, "%s: key %s = exporter of its records (%r)"
              % (what, key, sorted(exporters)[:3]))
        parts = {p for p, _, _ in items}
        check(len(parts) == 1, "%s: exporter %s in one partition (%r)"
              % (what, key, parts))
        in_kafka = [v for _, _, v in sorted(items)]
        in_files = [l for l in lines if json.loads(l)["exporter"] == key]
        check(in_kafka == in_files, "%s: exporter %s in file order" % (what, key))


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("netflowd_kafka_"):
            name, value = line.rsplit(" ", 1)
            out[name] = int(value)
    return out


def failed(m):
    return sum(v for k, v in m.items() if k.startswith("netflowd_kafka_failed_total"))


def config(port, mport, brokers, extra="", topic="flows", output="rotate = 1h"):
    return ("[collector]\nlisten = *:%d\n[output]\ndirectory = @OUT@\n%s\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n[kafka]\nbrokers = %s\n"
            "topic = %s\n%s" % (port, output, mport, brokers, topic, extra))


class Traffic(threading.Thread):
    """NetFlow v5 from two exporters (127.0.0.1 and ::1), 30 distinct
    flows a datagram, every `pace` seconds until stopped."""

    def __init__(self, port, pace=0.02, limit=None):
        super().__init__()
        self.port, self.pace, self.limit = port, pace, limit
        self.stopping = threading.Event()
        self.sent = 0

    def run(self):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        seq = 0
        while not self.stopping.is_set() and (self.limit is None or seq < self.limit):
            flows = [nfgen.flow(seq * 30 + k) for k in range(30)]
            d = nfgen.v5(flows, sequence=seq * 30)
            s4.sendto(d, ("127.0.0.1", self.port))
            s6.sendto(d, ("::1", self.port))
            seq += 1
            self.sent += 60
            time.sleep(self.pace)
        s4.close()
        s6.close()

    def stop(self):
        self.stopping.set()
        self.join()


def settle(mport, produced=1, timeout=90):
    """Waits until at least `produced` records were produced and none is
    in flight; returns the metrics."""
    m = {}

    def done():
        nonlocal m
        m = metrics(mport)
        return m.get("netflowd_kafka_in_flight", 1) == 0 and \
            m["netflowd_kafka_produced_total"] >= produced
    nftest.wait_for(done, timeout=timeout, step=0.5)
    return m


def all_delivered(d, mport, sent, what):
    """Waits for the producer to settle, checks that every one of `sent`
    records was delivered and none failed, then stops netflowd (exit 0)."""
    m = settle(mport, sent)
    check(failed(m) == 0 and m["netflowd_kafka_delivered_total"] == sent,
          "every record delivered %s: %r (%d sent)" % (what, m, sent))
    check(d.stop() == 0, "exit 0 on SIGTERM")
    return m


def ports():
    """A UDP port for NetFlow, a TCP port for /metrics (the mock brokers
    take ephemeral TCP ports too)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return nftest.free_port(), s.getsockname()[1]


# ---- scenarios ----

def golden():
    """The golden captures over UDP from two exporters: Kafka = files =
    the independent decoding; options records on their own topic; the
    analyzer reads the topic as it reads the files."""
    fixtures = ["softflowd-v5", "softflowd-v9", "softflowd-ipfix",
                "pmacct-v9", "pmacct-ipfix", "fprobe-v5"]
    cl = Cluster(topics=("flows", "flows-options"))
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap,
                                       "options_topic = flows-options\n"))
    try:
        d.start()
        dgs = []
        for name in fixtures:
            dgs += [p for *_, p in pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]
        nftest.send(dgs, port, pace=0.002)
        nftest.send(dgs, port, host="::1", family=socket.AF_INET6, pace=0.002)
        m = settle(mport, 2 * sum(1 for name in fixtures
                                  for _ in open(os.path.join(GOLDEN, name + ".expected.jsonl"))))
        check(m["netflowd_kafka_delivered_total"] == m["netflowd_kafka_produced_total"]
              and failed(m) == 0, "every record delivered: %r" % m)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        lines = file_lines(d)
        data = [l for l in lines if '"type":"options"' not in l]
        opts = [l for l in lines if '"type":"options"' in l]
        msgs = messages(cl.consume("flows"))
        same_records(msgs, data, "golden data")
        same_records(messages(cl.consume("flows-options")), opts, "golden options")
        with tempfile.TemporaryDirectory() as tmp:
            for exporter in ("127.0.0.1", "::1"):
                want = []
                for name in fixtures:
                    with open(os.path.join(GOLDEN, name + ".expected.jsonl")) as f:
                        for line in f:
                            r = json.loads(line)
                            r["exporter"] = exporter
                            want.append(json.dumps(r))
                got = [m[3] for m in msgs if m[0] == exporter]
                a, e = os.path.join(tmp, "a"), os.path.join(tmp, "e")
                with open(a, "w") as f:
                    f.writelines(g + "\n" for g in got)
                with open(e, "w") as f:
                    f.writelines(w + "\n" for w in want)
                rc = subprocess.run([sys.executable, os.path.join(GOLDEN, "compare.py"), a, e]).returncode
                check(rc == 0, "Kafka records from %s match the independent decoding" % exporter)
    finally:
        d.cleanup()
        cl.close()


def analyzer():
    """kcat | netflow-analyze - lists the connections netflow-analyze DIR
    lists. One exporter: its records are in one partition, in order (with
    several, partitions interleave them differently from the files, and
    the analyzer pairs within a time window of its input)."""
    cl = Cluster()
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap))
    try:
        d.start()
        dgs = []
        for name in ["softflowd-v9", "pmacct-ipfix", "softflowd-v5"]:
            dgs += [p for *_, p in pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]
        nftest.send(dgs, port, pace=0.002)
        settle(mport, 73)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        piped = subprocess.run(
            "%s -C -b %s -t flows -e -q -f '%%s\\n' | %s -n -m 0 -" % (KCAT, cl.bootstrap, ANALYZER),
            shell=True, capture_output=True, timeout=60)
        direct = subprocess.run([ANALYZER, "-n", "-m", "0", d.outdir],
                                capture_output=True, timeout=60)
        check(piped.returncode == 0 and piped.stdout == direct.stdout and direct.stdout,
              "kcat | netflow-analyze - prints what netflow-analyze DIR prints:\n%s\n---\n%s"
              % (piped.stdout.decode(), direct.stdout.decode()))
    finally:
        d.cleanup()
        cl.close()


def outage():
    """Every broker down for 10 s during traffic: nothing lost, nothing
    doubled, and /metrics showed it."""
    cl = Cluster()
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap))
    t = Traffic(port)
    try:
        d.start()
        t.start()
        time.sleep(2)
        cl.cmd("down")
        saw_down = nftest.wait_for(
            lambda: metrics(mport).get("netflowd_kafka_brokers_up", 1) == 0, timeout=8, step=0.5)
        time.sleep(8)
        during = metrics(mport)
        cl.cmd("up")
        time.sleep(2)
        t.stop()
        check(saw_down, "/metrics showed no broker up during the outage")
        check(during["netflowd_kafka_in_flight"] > 0,
              "records waited during the outage (%d)" % during["netflowd_kafka_in_flight"])
        m = settle(mport, t.sent)
        check(failed(m) == 0 and m["netflowd_kafka_delivered_total"] == m["netflowd_kafka_produced_total"],
              "all delivered after the outage: %r" % m)
        check(m["netflowd_kafka_produced_total"] == t.sent, "every flow produced (%d of %d)"
              % (m["netflowd_kafka_produced_total"], t.sent))
        check(d.stop() == 0, "exit 0 on SIGTERM")
        same_records(messages(cl.consume("flows")), file_lines(d), "outage")
    finally:
        t.stopping.set()
        d.cleanup()
        cl.close()


def late():
    """Every broker down when netflowd starts: it starts anyway (READY=1),
    writes the files, says so, and delivers once the brokers come up."""
    cl = Cluster()
    cl.cmd("down")
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap))
    try:
        d.start()
        t = Traffic(port, pace=0.01, limit=100)
        t.run()
        check(nftest.wait_for(lambda: "no broker reachable" in d.log(), timeout=15),
              "the journal says no broker is reachable:\n" + d.log())
        nftest.wait_for(lambda: metrics(mport)["netflowd_kafka_produced_total"] == t.sent,
                        timeout=10)
        m = metrics(mport)
        check(m["netflowd_kafka_delivered_total"] == 0 and
              m["netflowd_kafka_in_flight"] == t.sent, "records wait: %r" % m)
        cl.cmd("up")
        all_delivered(d, mport, t.sent, "once the brokers are up")
        same_records(messages(cl.consume("flows")), file_lines(d), "late")
    finally:
        d.cleanup()
        cl.close()


def overflow():
    """A long outage with a small queue and a short message_timeout: what
    is lost is counted exactly, produced = delivered + failed."""
    cl = Cluster()
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap,
                                       "queue = 1M\nmessage_timeout = 4s\n"))
    try:
        d.start()
        nftest.send([nfgen.v5([nfgen.flow(i * 30 + k) for k in range(30)])
                     for i in range(20)], port, pace=0.002)
        nftest.wait_for(lambda: metrics(mport)["netflowd_kafka_delivered_total"] == 600,
                        timeout=30, step=0.5)
        cl.cmd("down")
        t = Traffic(port, pace=0.005, limit=300)      # 18000 records
        t.run()
        time.sleep(6)
        cl.cmd("up")
        m = settle(mport, 600 + t.sent)
        produced, delivered = m["netflowd_kafka_produced_total"], m["netflowd_kafka_delivered_total"]
        check(produced == 600 + t.sent, "every record produced (%d)" % produced)
        check(produced == delivered + failed(m), "produced %d = delivered %d + failed %d"
              % (produced, delivered, failed(m)))
        check(m['netflowd_kafka_failed_total{reason="queue_full"}'] > 0,
              "the small queue overflowed: %r" % m)
        check(d.stop() == 0, "exit 0 on SIGTERM")
        msgs = messages(cl.consume("flows"))
        values = [x[3] for x in msgs]
        check(len(values) == delivered, "Kafka holds exactly the delivered records (%d, %d)"
              % (len(values), delivered))
        check(len(set(values)) == len(values), "none twice")
        check(set(values) <= set(file_lines(d)), "all of them from the files")
        m = re.search(r"(\d+) produced, (\d+) delivered, (\d+) failed", d.log())
        check(m is not None and int(m.group(1)) == int(m.group(2)) + int(m.group(3)),
              "the closing log line adds up: %s" % (m.group(0) if m else d.log()))
    finally:
        d.cleanup()
        cl.close()


def errors():
    """Produce requests failing with retriable errors: retried, nothing
    lost or doubled (the idempotent producer)."""
    cl = Cluster()
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap))
    t = Traffic(port)
    try:
        d.start()
        t.start()
        for _ in range(6):
            time.sleep(0.7)
            # NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS
            cl.cmd("errors 0 6 7 19 19 7 6")
        time.sleep(1)
        t.stop()
        all_delivered(d, mport, t.sent, "despite the errors")
        same_records(messages(cl.consume("flows")), file_lines(d), "errors")
    finally:
        t.stopping.set()
        d.cleanup()
        cl.close()


def reload():
    """SIGHUP under traffic moves to another cluster and topic; a bad
    [kafka] section is refused with file:line and the producer stays."""
    a, b = Cluster(topics=("flows",)), Cluster(topics=("moved",))
    port, mport = ports()
    # the output changes too (at the next 2 s slot boundary): that new
    # output must produce to the new cluster as well
    d = nftest.Daemon(NETFLOWD, config(port, mport, a.bootstrap, output="rotate = 2s"))
    t = Traffic(port)
    try:
        d.start()
        t.start()
        time.sleep(1)
        d.signal(signal.SIGHUP)         # the same file: the producer stays
        check(nftest.wait_for(lambda: "reloaded configuration" in d.log(), timeout=10)
              and "now producing" not in d.log(),
              "an unchanged [kafka] keeps its producer:\n" + d.log())
        time.sleep(1)
        with open(d.config, "w") as f:
            f.write(config(port, mport, b.bootstrap, topic="moved", output="rotate = 3s")
                    .replace("@OUT@", d.outdir))
        d.signal(signal.SIGHUP)
        time.sleep(2)
        with open(d.config, "w") as f:
            f.write(config(port, mport, a.bootstrap, "option.no.such.property = 1\n",
                           output="rotate = 3s").replace("@OUT@", d.outdir))
        d.signal(signal.SIGHUP)
        time.sleep(2)
        t.stop()
        all_delivered(d, mport, t.sent, "across the reload")
        log = d.log()
        check(re.search(r"reload failed.*netflowd.conf:\d+: option.no.such.property", log),
              "bad [kafka] refused with file:line:\n" + log)
        check(log.count("now producing") == 1, "one new producer in three reloads")
        old, new = messages(a.consume("flows")), messages(b.consume("moved"))
        check(old and new, "records in both clusters (%d, %d)" % (len(old), len(new)))
        # one exporter's order runs through the old cluster, then the new
        new = [(k, p, o + 10**12, v) for k, p, o, v in new]
        same_records(old + new, file_lines(d), "reload")
    finally:
        t.stopping.set()
        d.cleanup()
        a.close()
        b.close()


def sigterm():
    """No broker at all: netflowd starts (READY=1), says so, and SIGTERM
    returns within its bound, logging what it could not deliver."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]     # bound, never listening
        port, mport = ports()
        d = nftest.Daemon(NETFLOWD, config(port, mport, dead))
        try:
            d.start()
            nftest.send([nfgen.v5([nfgen.flow(i * 30 + k) for k in range(30)])
                         for i in range(10)], port, pace=0.002)
            nftest.wait_for(lambda: metrics(mport)["netflowd_kafka_produced_total"] == 300,
                            timeout=10)
            nftest.wait_for(lambda: "kafka:" in d.log() and "Connect" in d.log(), timeout=10)
            status = ""
            deadline = time.time() + 12
            while "kafka: connected to 0 of" not in status and time.time() < deadline:
                try:
                    status = d.notify.recv(4096).decode()
                except socket.timeout:
                    break
            check("kafka: connected to 0 of" in status and "300 queued" in status,
                  "STATUS= says no broker is up and what waits: %r" % status)
            start = time.time()
            d.signal(signal.SIGTERM)
            try:
                rc = d.proc.wait(25)
            except subprocess.TimeoutExpired:
                rc = None
            check(rc == 0, "SIGTERM returns within 25 s (flush bound 10 s) with exit 0")
            log = d.log()
            check("Connect" in log, "the unreachable broker is in the journal:\n" + log)
            check(re.search(r"300 produced, 0 delivered, 300 failed \(300 left at shutdown\)", log),
                  "what was left is logged:\n" + log)
            print("stopped in %.1f s" % (time.time() - start))
        finally:
            d.cleanup()


def check_config():
    """-n: bad keys as file:line, the secret never printed."""
    tmp = tempfile.mkdtemp(prefix="netflowd-kafka-")
    try:
        secret = os.path.join(tmp, "secret")
        with open(secret, "w") as f:
            f.write("s3cr3t-value\n")
        good = ("[kafka]\nbrokers = 127.0.0.1:9092\ntopic = flows\ncompression = zstd\n"
                "acks = 1\nqueue = 64M\nmessage_timeout = 30s\nclient_id = edge-1\n"
                "option.security.protocol = sasl_plaintext\noption.sasl.mechanisms = PLAIN\n"
                "option.sasl.username = netflowd\nsasl_password_file = %s\n"
                "option.linger.ms = 20\n" % secret)
        path = os.path.join(tmp, "good.conf")
        with open(path, "w") as f:
            f.write(good)
        r = subprocess.run([NETFLOWD, "-n", "-c", path], capture_output=True, text=True)
        check(r.returncode == 0, "good [kafka] accepted: " + r.stderr)
        check("s3cr3t" not in r.stdout + r.stderr, "the secret is not printed")
        for want in ("compression = zstd", "acks = 1", "queue = 67108864",
                     "message_timeout = 30", "option.linger.ms = 20", "client_id = edge-1"):
            check(want in r.stdout, "-n prints %r" % want)
        bad = [
            ("option.no.such = 1\n", 'option.no.such: No such configuration property'),
            ("option.linger.ms = forever\n", "option.linger.ms: "),
            ("compression = brotli\n", "bad compression 'brotli'"),
            ("acks = 2\n", "bad acks '2'"),
            ("key = flow\n", "bad key 'flow'"),
            ("queue = 10\n", "bad queue size '10'"),
            ("topic = again\n", "duplicate key 'topic' (first set on line 3)"),
            ("colour = blue\n", "unknown key 'colour' in [kafka]"),
            ("option.sasl.password = x\n", "sasl_password_file"),
            ("sasl_password_file = /nonexistent/x\n", "/nonexistent/x"),
        ]
        for extra, want in bad:
            with open(path, "w") as f:
                f.write("[kafka]\nbrokers = 127.0.0.1:9092\ntopic = flows\n" + extra)
            r = subprocess.run([NETFLOWD, "-n", "-c", path], capture_output=True, text=True)
            check(r.returncode == 1 and ("%s:4: " % path) in r.stderr and want in r.stderr,
                  "%r -> file:4: %s (%r)" % (extra.strip(), want, r.stderr.strip()))
        with open(path, "w") as f:
            f.write("[output]\nfiles = no\n")
        r = subprocess.run([NETFLOWD, "-n", "-c", path], capture_output=True, text=True)
        check(r.returncode == 1 and "files = no needs a [kafka] section" in r.stderr,
              "files = no alone is refused: " + r.stderr)
        with open(path, "w") as f:
            f.write("[log]\nlevel = info\n[kafka]\n")
        r = subprocess.run([NETFLOWD, "-n", "-c", path], capture_output=True, text=True)
        check(r.returncode == 1 and ("%s:3: [kafka] needs brokers" % path) in r.stderr,
              "an empty [kafka] needs brokers: " + r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def kafka_only():
    """[output] files = no: Kafka alone, no file written; key = none,
    zstd, acks = 1.  Unkeyed messages go where librdkafka's sticky
    partitioner puts them: one random partition per batch.  A test burst
    may be a single batch, so the spread is checked with the stickiness
    turned off through an option. pass-through (a random partition per
    message), which also proves such a property reaches librdkafka."""
    cl = Cluster()
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap,
                                       "key = none\ncompression = zstd\nacks = 1\n"
                                       "option.sticky.partitioning.linger.ms = 0\n",
                                       output="files = no"))
    try:
        d.start()
        t = Traffic(port, pace=0.005, limit=100)
        t.run()
        all_delivered(d, mport, t.sent, "")
        check(not d.files(), "no file written: %r" % d.files())
        msgs = messages(cl.consume("flows"))
        values = [x[3] for x in msgs]
        check(len(values) == t.sent and len(set(values)) == t.sent,
              "Kafka holds each record once (%d)" % len(values))
        check(all(x[0] == "" for x in msgs), "key = none: no keys")
        check(len({x[1] for x in msgs}) > 1, "key = none: spread over partitions")
    finally:
        d.cleanup()
        cl.close()


def read():
    """--read FILE.pcap into files and Kafka: it waits for the queue
    instead of dropping; on exit every record is in both."""
    cl = Cluster()
    work = tempfile.mkdtemp(prefix="netflowd-kafka-")
    try:
        out = os.path.join(work, "flows")
        conf = os.path.join(work, "netflowd.conf")
        with open(conf, "w") as f:
            f.write("[output]\ndirectory = %s\n[kafka]\nbrokers = %s\ntopic = flows\n"
                    "queue = 1M\n" % (out, cl.bootstrap))
        for name in ["softflowd-v9", "pmacct-ipfix", "fprobe-v5"]:
            r = subprocess.run([NETFLOWD, "-c", conf, "--read",
                                os.path.join(GOLDEN, name + ".pcap")],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and "0 failed" in r.stderr, "--read %s: %s" % (name, r.stderr))
        lines = []
        for n in sorted(os.listdir(out)):
            with open(os.path.join(out, n)) as f:
                lines += [l.rstrip("\n") for l in f]
        values = [x[3] for x in messages(cl.consume("flows"))]
        check(sorted(values) == sorted(lines) and lines,
              "Kafka holds the files' records (%d, %d)" % (len(values), len(lines)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        cl.close()


def retire_slow():
    """Issue 19 items 2 and 5: a [kafka] change while a replaced output is
    still finishing on a writer that stalls (every fdatasync held by the
    NETFLOWD_TEST_FDATASYNC hook until the test lets go). The retire
    thread has freed that output's render thread by then; the loop must
    not ask it anything (it used to: a use after free under ASan). The old
    producer closes when its last holder lets go, off the loop; every
    record reaches Kafka once, in file order per exporter."""
    a, b = Cluster(topics=("flows",)), Cluster(topics=("moved",))
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, a.bootstrap, output="rotate = 1s"))
    ctl = os.path.join(d.dir, "ctl")
    os.mkdir(ctl)
    hold = os.path.join(ctl, "hold")
    second = os.path.join(d.dir, "second")
    t = Traffic(port)
    try:
        os.environ["NETFLOWD_TEST_FDATASYNC"] = ctl
        try:
            d.start()
        finally:
            del os.environ["NETFLOWD_TEST_FDATASYNC"]
        t.start()
        time.sleep(0.5)
        open(hold, "w").close()
        # the output moves: the old one retires and stalls in fdatasync
        with open(d.config, "w") as f:
            f.write(config(port, mport, a.bootstrap, output="rotate = 1s")
                    .replace("@OUT@", second))
        d.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: "output now" in d.log(), timeout=10),
              "the output is replaced:\n" + d.log())
        # Kafka moves while the old output is still finishing
        with open(d.config, "w") as f:
            f.write(config(port, mport, b.bootstrap, topic="moved",
                           output="rotate = 1s").replace("@OUT@", second))
        d.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: "now producing" in d.log(), timeout=10),
              "the producer is replaced:\n" + d.log())
        # a few ticks of the loop while the retire thread is stalled
        before = d.log().count("stats:")
        for _ in range(3):
            d.signal(signal.SIGUSR1)
            time.sleep(0.5)
        check(d.alive() and d.log().count("stats:") > before,
              "the loop runs while the old output stalls")
        os.unlink(hold)
        check(nftest.wait_for(lambda: "producer for topic flows closed" in d.log(),
                              timeout=30),
              "the old producer closes once nothing holds it:\n" + d.log()[-2000:])
        t.stop()
        all_delivered(d, mport, t.sent, "across both switches")
        lines = file_lines(d)
        for name in sorted(os.listdir(second), key=written_order):
            if not name.startswith("."):
                with open(os.path.join(second, name)) as f:
                    lines += [line.rstrip("\n") for line in f]
        old, new = messages(a.consume("flows")), messages(b.consume("moved"))
        check(old and new, "records in both clusters (%d, %d)" % (len(old), len(new)))
        new = [(k, p, o + 10**12, v) for k, p, o, v in new]
        same_records(old + new, lines, "retire-slow")
    finally:
        t.stopping.set()
        if os.path.exists(hold):
            os.unlink(hold)
        d.cleanup()
        a.close()
        b.close()


def order(stdout=False):
    """Issue 19 item 4: per-exporter order in the partition across producer
    switches. Every producer writes the same topic of one cluster. Just
    before each [kafka] change the cluster fails the next Produce request
    (REQUEST_TIMED_OUT), and the old producer waits retry.backoff.ms = 2 s
    before it sends those records again, so at the switch it still holds
    records older than the new producer's first ones. The change takes
    effect with the output switch at the slot boundary, and the new
    output's render thread waits until the old producer settled: each
    exporter's records are in its partition in file order. (Before, the
    render thread switched at its next block and the new producer's
    records landed before the old one's retried ones.) With stdout, the
    same under --stdout, where the new output also waits until the old one
    finished writing standard output (one file: lines whole, in order)."""
    a = Cluster(topics=("flows",))
    port, mport = ports()
    slow = "option.retry.backoff.ms = %d\n"
    d = nftest.Daemon(NETFLOWD, config(port, mport, a.bootstrap, slow % 2000,
                                       output="rotate = 1s"),
                      args=["--stdout"] if stdout else ())
    out = os.path.join(d.dir, "stdout.json")
    if stdout:
        d.stdout = open(out, "w")
    t = Traffic(port, pace=0.05)
    try:
        d.start()
        t.start()
        time.sleep(1.5)
        for n, extra in enumerate((slow % 1900, ""), 1):
            a.cmd("errors 0 7")
            time.sleep(0.3)     # the old producer's next request fails
            with open(d.config, "w") as f:
                f.write(config(port, mport, a.bootstrap, extra, output="rotate = 1s")
                        .replace("@OUT@", d.outdir))
            d.signal(signal.SIGHUP)
            check(nftest.wait_for(lambda: d.log().count("now producing") == n,
                                  timeout=15),
                  "switch %d: the new producer takes over with the output:\n%s"
                  % (n, d.log()[-1500:]))
            time.sleep(1.5)
        t.stop()
        all_delivered(d, mport, t.sent, "across both switches")
        log = d.log()
        check(log.count("producer for topic flows closed") == 3,
              "three producers, each closed:\n" + log[-1500:])
        if stdout:
            d.stdout.close()
            with open(out) as f:
                lines = [line.rstrip("\n") for line in f]
            check(all(line.startswith('{"time_received"') and line.endswith("}")
                      for line in lines), "standard output holds whole lines")
            check(len(lines) == t.sent, "every record on standard output: %d of %d"
                  % (len(lines), t.sent))
        else:
            lines = file_lines(d)
        same_records(messages(a.consume("flows")), lines, "order")
    finally:
        t.stopping.set()
        d.cleanup()
        a.close()


def brokers():
    """Issue 23 item 4: against a healthy cluster of 3 brokers librdkafka
    connects only to those it needs (the leaders of the partitions it
    produces to); no line may claim the others are down ("1 of 3 brokers
    up"): it says how many it is connected to, at start and in the final
    stats."""
    cl = Cluster(partitions=1)
    port, mport = ports()
    d = nftest.Daemon(NETFLOWD, config(port, mport, cl.bootstrap))
    t = Traffic(port, limit=20)
    try:
        d.start()
        t.start()
        t.join()
        m = settle(mport, t.sent)
        check(m.get("netflowd_kafka_brokers") == 3,
              "the cluster's 3 brokers are known: %r" % m)
        check(nftest.wait_for(lambda: "kafka: connected to" in d.log()),
              "the connection is said:\n" + d.log())
        check(d.stop() == 0, "exit 0")
        log = d.log()
        check(re.search(r"kafka: connected to [12] brokers? \(the cluster has 3\)", log),
              "start: connected to the leader(s), not 'of 3 up':\n" + log)
        check(re.search(r"stats: kafka: .* connected to [12] of the cluster's 3 brokers", log),
              "final stats:\n" + log)
        check("brokers up" not in log, "no line calls the unused brokers down:\n" + log)
    finally:
        t.stopping.set()
        d.cleanup()
        cl.close()


SCENARIOS = {"brokers": brokers, "retire-slow": retire_slow, "read": read, "golden": golden, "analyzer": analyzer, "outage": outage, "late": late, "overflow": overflow,
             "errors": errors, "reload": reload, "sigterm": sigterm,
             "config": check_config, "files-off": kafka_only, "order": order,
             "stdout-order": lambda: order(stdout=True)}
SCENARIOS[SCENARIO]()
check.done()
