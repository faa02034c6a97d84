#!/usr/bin/env python3
"""The ClickHouse recipe for 18.16 (conf/clickhouse/18.16/flows.sql and its
config.d/users.d snippets) against the real thing: Debian's
clickhouse-server, started here on 127.0.0.1 with a private config, data
directory and ports, reading librdkafka's mock Kafka cluster
(tests/kafka/mock-cluster) through its Kafka engine, into MergeTree.

netflowd writes files and Kafka at once (golden captures of softflowd,
pmacct and fprobe, with options records, plus sFlow counter samples).
Then ClickHouse must hold exactly the flow lines of the files in `flows`
(per kind, with `format`), the options and counter records in their own
tables and not in `flows`, and its top talkers must equal what
netflow-analyze computes from the files of the same run.

usage: test_clickhouse.py NETFLOWD MOCK_CLUSTER ANALYZER
Exit 77 (skipped) when clickhouse-server or kcat is not installed, or the
server cannot start here."""
import collections
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD, MOCK, ANALYZER = (os.path.abspath(a) for a in sys.argv[1:4])
RECIPE = os.path.join(ROOT, "conf", "clickhouse")
GOLDEN = os.path.join(HERE, "..", "golden")
SERVER = shutil.which("clickhouse-server") or (
    "/usr/sbin/clickhouse-server" if os.access("/usr/sbin/clickhouse-server", os.X_OK) else None)
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
for name, path in (("clickhouse-server", SERVER), ("kcat", KCAT)):
    if path is None:
        print("%s not installed (Debian: apt-get install %s): skipped" % (name, name))
        sys.exit(77)
check = nftest.Check("clickhouse")
PARTITIONS = 3
DEADLINE = 120          # seconds for ClickHouse to consume the topic


CONFIG_XML = """<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog>
        <console>false</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <max_connections>64</max_connections>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/data/tmp/</tmp_path>
    <user_files_path>{dir}/data/user_files/</user_files_path>
    <format_schema_path>{dir}/data/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
</yandex>
"""

USERS_XML = """<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
"""


class ClickHouse:
    """clickhouse-server in a private directory: its own config (with the
    recipe's config.d and users.d snippets), data, logs and two free TCP
    ports on 127.0.0.1; stopped by its PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="netflowd-clickhouse-")
        self.http, self.tcp = nftest.free_tcp_port(), nftest.free_tcp_port()
        while self.tcp == self.http:
            self.tcp = nftest.free_tcp_port()
        os.makedirs(os.path.join(self.dir, "data", "tmp"))
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(CONFIG_XML.format(dir=self.dir, http=self.http, tcp=self.tcp))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(USERS_XML)
        for sub in ("config.d", "users.d"):
            shutil.copytree(os.path.join(RECIPE, "18.16", sub), os.path.join(self.dir, sub))
        self.out = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(
            [SERVER, "--config-file=" + os.path.join(self.dir, "config.xml")],
            stdout=self.out, stderr=subprocess.STDOUT, cwd=self.dir,
            start_new_session=True)

    def ready(self, timeout=60):
        def ping():
            if self.proc.poll() is not None:
                return True
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/ping" % self.http,
                                            timeout=2) as r:
                    return r.read().strip() == b"Ok."
            except OSError:
                return False
        return nftest.wait_for(ping, timeout=timeout, step=0.2) and self.proc.poll() is None

    def query(self, sql):
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.http,
                                     data=sql.encode())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError("ClickHouse: %s\n%s" % (e.read().decode(errors="replace")[:2000], sql))

    def rows(self, sql):
        """JSONEachRow rows of a SELECT."""
        return [json.loads(line) for line in
                self.query(sql + " FORMAT JSONEachRow").splitlines() if line]

    def scalar(self, sql):
        return int(self.query(sql).strip())

    def log(self):
        text = ""
        for name in ("stdout.log", "server.err.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()[-3000:]
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def statements(path, brokers):
    """The recipe's statements, with this run's brokers."""
    with open(path) as f:
        text = f.read()
    default = "'kafka1:9092,kafka2:9092,kafka3:9092'"
    assert default in text, "the recipe names the example brokers"
    text = text.replace(default, "'%s'" % brokers)
    body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def counters_datagram(seq, agent=(192, 0, 2, 9), if_index=3):
    """sFlow v5, one counter sample with a generic interface record."""
    generic = struct.pack(">IIQII" "QIIIIII" "QIIIIII",
                          if_index, 6, 10 ** 9, 1, 3,
                          1000 * seq + 17, 10 * seq, 1, 2, 0, 0, 0,
                          2000 * seq + 29, 20 * seq, 3, 4, 0, 1, 0)[:88]
    assert len(generic) == 88
    record = struct.pack(">II", 1, len(generic)) + generic
    body = struct.pack(">III", seq, if_index, 1) + record
    sample = struct.pack(">II", 2, len(body)) + body
    return struct.pack(">II4BIIII", 5, 1, *agent, 0, seq, 100000 + seq, 1) + sample


def file_lines(d):
    out = []
    for name in sorted(d.files()):
        if not name.startswith("."):
            with open(os.path.join(d.outdir, name)) as f:
                out += [json.loads(line) for line in f]
    return out


def analyzer_talkers(outdir):
    r = subprocess.run([ANALYZER, "-s", "-j", "-n", "-t", "100000", outdir],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("netflow-analyze: " + r.stderr.decode(errors="replace"))
    rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l]
    totals = [x for x in rows if x["type"] == "totals"][0]
    return totals, [x for x in rows if x["type"] == "talker"]


# the analyzer's top talkers: bytes and packets sent and received (an
# address talking to itself once), sampled records scaled by their interval
TALKERS = """
SELECT addr, sum(bytes * scale) AS bytes, sum(packets * scale) AS packets,
       count() AS flows
FROM (SELECT arrayJoin(if(src_addr = dst_addr, [src_addr], [src_addr, dst_addr])) AS addr,
             bytes, packets, if(sampling_interval > 1, sampling_interval, 1) AS scale
      FROM flows)
GROUP BY addr ORDER BY bytes DESC, addr"""


def main():
    ch = ClickHouse()
    cl = None
    d = None
    try:
        if not ch.ready():
            print("clickhouse-server does not start here: skipped\n" + ch.log())
            sys.exit(77)
        version = ch.query("SELECT version()").strip()
        print("ClickHouse", version, file=sys.stderr)
        # the mock cluster and its topic
        cl = subprocess.Popen([MOCK, "3"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
        brokers = cl.stdout.readline().strip()
        cl.stdin.write("topic flows %d\n" % PARTITIONS)
        cl.stdin.flush()
        check(cl.stdout.readline().strip() == "ok", "mock cluster made the topic")
        for sql in statements(os.path.join(RECIPE, "18.16", "flows.sql"), brokers):
            ch.query(sql)
        # the test's own end marker, one per partition: once ClickHouse
        # has read all three, it has read everything before them
        ch.query("CREATE TABLE test_end (n UInt32) ENGINE = MergeTree ORDER BY n")
        ch.query("CREATE MATERIALIZED VIEW test_end_mv TO test_end AS "
                 "SELECT domain AS n FROM flows_queue WHERE `type` = 'test-end'")

        port, mport = nftest.free_port(), nftest.free_tcp_port()
        d = nftest.Daemon(NETFLOWD, (
            "[collector]\nlisten = *:%d\n[output]\ndirectory = @OUT@\nrotate = 1h\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n[kafka]\nbrokers = %s\ntopic = flows\n"
            % (port, mport, brokers)))
        d.start()
        dgs = []
        fixtures = ["softflowd-v5", "softflowd-v9", "softflowd-ipfix", "pmacct-v9",
                    "pmacct-ipfix", "fprobe-v5", "pmacct-sflow"]
        for name in fixtures:
            dgs += [p for *_, p in pcaputil.udp_datagrams(os.path.join(GOLDEN, name + ".pcap"))]
        dgs += [counters_datagram(i + 1) for i in range(5)]
        nftest.send(dgs, port, pace=0.002)
        nftest.send(dgs, port, host="::1", family=socket.AF_INET6, pace=0.002)

        # what the golden files expect from each exporter, and the counters;
        # the options records come on top
        want = 2 * (sum(1 for name in fixtures
                        for _ in open(os.path.join(GOLDEN, name + ".expected.jsonl"))) + 5)

        def delivered():
            text = nftest.metrics(mport)
            p = nftest.metric(text, "netflowd_kafka_produced_total") or 0
            return (p >= want and nftest.metric(text, "netflowd_kafka_in_flight") == 0
                    and nftest.metric(text, "netflowd_kafka_delivered_total") == p)
        check(nftest.wait_for(delivered, timeout=60, step=0.3),
              "netflowd produced and delivered at least %d records" % want)
        check(d.stop() == 0, "netflowd exit 0 on SIGTERM")
        records = file_lines(d)
        flows = [r for r in records if "type" not in r]
        options = [r for r in records if r.get("type") == "options"]
        counters = [r for r in records if r.get("type") == "counters"]
        check(flows and options and counters,
              "the run has flows (%d), options (%d) and counters (%d)"
              % (len(flows), len(options), len(counters)))
        produced = subprocess.run([KCAT, "-C", "-b", brokers, "-t", "flows", "-e", "-q",
                                   "-f", "%s\n"], capture_output=True, timeout=60)
        in_kafka = len(produced.stdout.splitlines())
        check(in_kafka == len(records), "Kafka holds the %d records of the files (%d)"
              % (len(records), in_kafka))
        for p in range(PARTITIONS):
            subprocess.run([KCAT, "-P", "-b", brokers, "-t", "flows", "-p", str(p)],
                           input=('{"time_received":"2024-05-01T00:00:00.000Z",'
                                  '"type":"test-end","domain":%d}\n' % p).encode(),
                           check=True, timeout=30)

        def consumed():
            return (ch.scalar("SELECT count() FROM test_end") >= PARTITIONS and
                    ch.scalar("SELECT count() FROM flows") >= len(flows) and
                    ch.scalar("SELECT count() FROM flow_options") >= len(options) and
                    ch.scalar("SELECT count() FROM flow_counters") >= len(counters))
        check(nftest.wait_for(consumed, timeout=DEADLINE, step=0.5),
              "ClickHouse read the whole topic within %d s" % DEADLINE)

        n = ch.scalar("SELECT count() FROM flows")
        check(n == len(flows), "flows holds the %d flow lines of the files (%d rows)"
              % (len(flows), n))
        n = ch.scalar("SELECT count() FROM flow_options")
        check(n == len(options), "flow_options holds the %d options records (%d rows)"
              % (len(options), n))
        n = ch.scalar("SELECT count() FROM flow_counters")
        check(n == len(counters), "flow_counters holds the %d counter records (%d rows)"
              % (len(counters), n))
        n = ch.scalar("SELECT count() FROM flows WHERE src_addr = '' OR dst_addr = ''")
        check(n == 0, "no options or counter record in flows (%d rows without addresses)" % n)
        want = collections.Counter((r.get("format", ""), r["version"]) for r in flows)
        got = collections.Counter({(x["format"], int(x["version"])): int(x["n"]) for x in ch.rows(
            "SELECT `format`, version, count() AS n FROM flows GROUP BY `format`, version")})
        check(got == want and ("sflow", 5) in got and ("", 5) in got,
              "format tells sFlow from NetFlow v5: %r, files %r" % (dict(got), dict(want)))
        want = sum(r["if_in_octets"] for r in counters)
        got = ch.scalar("SELECT sum(if_in_octets) FROM flow_counters")
        check(got == want, "counters' if_in_octets: %d, files %d" % (got, want))
        want = collections.Counter(r["time_received"][:19].replace("T", " ") for r in flows)
        got = collections.Counter({x["t"]: int(x["n"]) for x in ch.rows(
            "SELECT toString(time_received) AS t, count() AS n FROM flows GROUP BY t")})
        check(got == want, "time_received parsed to the second (%d distinct)" % len(want))
        want = collections.Counter(r["start"][:19].replace("T", " ") for r in flows if "start" in r)
        got = collections.Counter({x["t"]: int(x["n"]) for x in ch.rows(
            "SELECT toString(start) AS t, count() AS n FROM flows "
            "WHERE start != toDateTime(0, 'UTC') GROUP BY t")})
        check(got == want, "start parsed to the second (%d distinct)" % len(want))

        totals, talkers = analyzer_talkers(d.outdir)
        ch_talkers = ch.rows(TALKERS)
        check(totals["flows"] == len(flows) == sum(1 for _ in ch.rows("SELECT 1 FROM flows")),
              "netflow-analyze counts the flows ClickHouse holds (%d)" % totals["flows"])
        a = {(t["addr"], t["bytes"], t["packets"], t["flows"]) for t in talkers}
        c = {(t["addr"], int(t["bytes"]), int(t["packets"]), int(t["flows"])) for t in ch_talkers}
        check(a == c and len(a) > 10,
              "top talkers in ClickHouse = netflow-analyze's (%d addresses); only "
              "ClickHouse: %r; only the analyzer: %r" % (len(a), sorted(c - a)[:5], sorted(a - c)[:5]))
        check([t["bytes"] for t in talkers[:10]] == [int(t["bytes"]) for t in ch_talkers[:10]],
              "the top ten in the same order of bytes")
        total = ch.scalar("SELECT sum(bytes * if(sampling_interval > 1, sampling_interval, 1)) FROM flows")
        check(total == totals["bytes"], "total bytes %d, netflow-analyze %d" % (total, totals["bytes"]))
        err = os.path.join(ch.dir, "server.err.log")
        errors = [l for l in open(err, errors="replace")] if os.path.exists(err) else []
        check(not any("<Error>" in l for l in errors),
              "ClickHouse logged no error:\n" + "".join(errors[-20:]))
    except Exception:
        print("ClickHouse log:\n" + ch.log(), file=sys.stderr)
        if d is not None:
            print("netflowd log:\n" + d.log(), file=sys.stderr)
        raise
    finally:
        if d is not None:
            d.cleanup()
        if cl is not None:
            try:
                cl.stdin.write("quit\n")
                cl.stdin.close()
                cl.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                cl.kill()
                cl.wait()
        ch.stop()
    check.done()


main()
