#!/usr/bin/env python3
"""Tests for netflow-analyze, run by meson (suite 'analyzer').

    analyzer_test.py CASE        run one case; exit 0 pass, 1 fail, 77 skip

Environment: ANALYZER (the binary), DATA (tests/analyzer/data), EXPECTED
(tests/analyzer/expected), NETFLOWD (optional daemon binary for the
end-to-end case), ANALYZER_WRAPPER (e.g. "valgrind -q --error-exitcode=99
--leak-check=full --errors-for-leak-kinds=all"). UPDATE_GOLDEN=1 rewrites the expected files instead of
comparing (review the diff before committing it).
"""
import gzip
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import strictjson  # noqa: E402

ANALYZER = os.environ.get("ANALYZER", "netflow-analyze")
DATA = os.environ.get("DATA", os.path.join(os.path.dirname(__file__), "data"))
EXPECTED = os.environ.get("EXPECTED", os.path.join(os.path.dirname(__file__), "expected"))
SERVICES = os.path.join(DATA, "services")
HOSTS = os.path.join(DATA, "hosts")
SKIP = 77


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def zstd_raw(data):
    """A valid zstd frame made of raw (stored) blocks: no zstd module needed."""
    out = bytearray(b"\x28\xb5\x2f\xfd")
    out += bytes([0x00, 10 << 3])  # no single segment; window 1 MiB
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] or [b""]
    for i, chunk in enumerate(chunks):
        last = 1 if i == len(chunks) - 1 else 0
        header = last | (0 << 1) | (len(chunk) << 3)
        out += struct.pack("<I", header)[:3] + chunk
    return bytes(out)


def materialize(src, dst):
    """NAME.in -> NAME; a .gz/.zst NAME is compressed, dot-NAME becomes .NAME."""
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".in"):
            continue
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        out = name[:-3]
        if out.startswith("dot-"):
            out = "." + out[4:]
        if out.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        elif out.endswith(".zst"):
            data = zstd_raw(data)
        with open(os.path.join(dst, out), "wb") as f:
            f.write(data)
    return dst


def run(args, stdin=None, env_extra=None, timeout=60):
    env = dict(os.environ, TZ="UTC")
    env.update(env_extra or {})
    wrapper = os.environ.get("ANALYZER_WRAPPER", "").split()
    p = subprocess.run(wrapper + [ANALYZER] + args, input=stdin, capture_output=True,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def golden(name, text):
    path = os.path.join(EXPECTED, name)
    if os.environ.get("UPDATE_GOLDEN"):
        with open(path, "w") as f:
            f.write(text)
        return
    with open(path) as f:
        want = f.read()
    if text != want:
        import difflib
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                            "expected/" + name, "actual"))
        raise Failure("output differs from expected/%s:\n%s" % (name, diff))


def golden_run(name, args, stdin=None, want_rc=0):
    rc, out, err = run(args, stdin=stdin)
    check(rc == want_rc, "exit %d (want %d); stderr:\n%s" % (rc, want_rc, err))
    golden(name, out)
    return out, err


# ---------------------------------------------------------------- cases

def golden_dir(tmp):
    return materialize(os.path.join(DATA, "golden"), os.path.join(tmp, "flows"))


def case_golden_numeric(tmp):
    d = golden_dir(tmp)
    out, err = golden_run("golden-numeric.out", ["-n", "--services", SERVICES, d])
    check("10.9.9.9" not in out, "hidden in-progress file was read")
    check("5 malformed lines skipped" in err, "malformed count missing: " + err)
    check("1 flow record without addresses or times skipped" in err, err)


def case_golden_all(tmp):
    golden_run("golden-all.out", ["-n", "--services", SERVICES, "--min-bytes", "0",
                                  golden_dir(tmp)])


def case_golden_hosts(tmp):
    golden_run("golden-hosts.out", ["--hosts", HOSTS, "--services", SERVICES,
                                    "--min-bytes", "0", golden_dir(tmp)])


def case_golden_json(tmp):
    out, _ = golden_run("golden-json.out", ["--hosts", HOSTS, "--services", SERVICES,
                                            "--json", "-m", "0", golden_dir(tmp)])
    for line in out.splitlines():
        strictjson.loads(line)


def case_summary(tmp):
    golden_run("summary.out", ["--hosts", HOSTS, "--services", SERVICES, "--summary",
                               "--top", "3", golden_dir(tmp)])


def case_summary_json(tmp):
    out, _ = golden_run("summary-json.out", ["--hosts", HOSTS, "--services", SERVICES,
                                             "--summary", "--json", "-t", "2",
                                             golden_dir(tmp)])
    rows = [strictjson.loads(line) for line in out.splitlines()]
    check(rows[0]["type"] == "totals" and rows[0]["malformed"] == 5, rows[0])


def case_filters(tmp):
    d = golden_dir(tmp)
    base = ["-n", "--services", SERVICES, "-m", "0"]
    text = ""
    for extra in (["--host", "192.0.2.1"], ["--host", "2001:db8::/32"],
                  ["--port", "53"], ["--exporter", "192.0.2.252"],
                  ["--since", "2024-05-01T12:00:50Z", "--until", "2024-05-01 12:01:06"],
                  ["--min-bytes", "1.5M"]):
        rc, out, err = run(base + extra + [d])
        check(rc == 0, "exit %d: %s" % (rc, err))
        text += "## %s\n%s" % (" ".join(extra), out)
    golden("filters.out", text)


def case_out_of_order(tmp):
    """Files given in any order are read in time order, and a connection
    whose directions sit in two files pairs."""
    d = golden_dir(tmp)
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if not f.startswith("."))
    files = [f for f in files if ".json" in f]
    _, want, _ = run(["-n", "--services", SERVICES, "-m", "0", d])
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0"] + files[::-1])
    check(rc == 0, err)
    check(out == want, "reverse-order files gave different output:\n" + out)
    check("HTTP    | 1.43M    | 3 sec     | 192.0.2.2 (192.0.2.2) to 192.0.2.80" in out,
          "directions split over two files did not pair:\n" + out)


def case_stdin(tmp):
    d = golden_dir(tmp)
    plain = open(os.path.join(DATA, "golden", "20240501T120000Z.json.in"), "rb").read()
    _, want, _ = run(["-n", "--services", SERVICES, "-m", "0",
                      os.path.join(d, "20240501T120000Z.json"),
                      os.path.join(d, "20240501T120100Z.json.gz")])
    rc, out2, err = run(["-n", "--services", SERVICES, "-m", "0", "-",
                         os.path.join(d, "20240501T120100Z.json.gz")], stdin=plain)
    check(rc == 0 and out2 == want, "stdin + file differs:\n" + out2 + err)
    rc, out3, err = run(["-n", "--services", SERVICES, "-m", "0", "-"],
                        stdin=zstd_raw(plain))
    check(rc == 0 and "IPV6" not in out3 and "192.0.2.53" in out3, "zstd on stdin:\n" + out3)


def flow(src, dst, sport, dport, start, end=None, nbytes=1000, proto=6, recv=None, **kw):
    d = {"time_received": recv or end or start, "exporter": "192.0.2.254", "version": 9,
         "start": start, "end": end or start, "src_addr": src, "dst_addr": dst,
         "src_port": sport, "dst_port": dport, "proto": proto, "bytes": nbytes,
         "packets": 1}
    d.update(kw)
    import json
    return json.dumps(d, separators=(",", ":"))


def t(sec):
    """2024-05-02 00:00:00 UTC + sec, RFC 3339 with milliseconds."""
    base = 1714608000
    ms = int(round(sec * 1000))
    tm = time.gmtime(base + ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + ".%03dZ" % (ms % 1000)


def case_pairing(tmp):
    a, b = "10.0.0.1", "10.0.0.2"
    lines = [
        # same 5-tuple reused 30 s later: two connections, each with its answer
        flow(a, b, 40000, 80, t(0), t(1), 100),
        flow(b, a, 80, 40000, t(0.1), t(1), 5000),
        flow(a, b, 40000, 80, t(30), t(31), 200),
        flow(b, a, 80, 40000, t(30.1), t(31), 6000),
        # one side missing
        flow(a, b, 40001, 443, t(40), t(41), 300),
        # the answer starts outside the window (default 5 s): not a pair
        flow(a, b, 40002, 22, t(50), t(51), 400),
        flow(b, a, 22, 40002, t(56), t(57), 500),
        # answer listed before the request, starts 2 s later: still a pair,
        # and the earlier starter is the initiator
        flow(b, a, 25, 40003, t(62), t(63), 700),
        flow(a, b, 40003, 25, t(60), t(63), 600),
        # two candidates in the window: the closer start wins
        flow(a, b, 40004, 8080, t(70), t(70), 10),
        flow(a, b, 40004, 8080, t(73), t(73), 20),
        flow(b, a, 8080, 40004, t(72.9), t(73), 30),
        # same start, same bytes: the ephemeral port decides
        flow(b, a, 53, 40005, t(80), t(80), 99, proto=17),
        flow(a, b, 40005, 53, t(80), t(80), 99, proto=17),
        # same start, different bytes: the larger sender initiated
        flow(b, a, 53, 40006, t(90), t(90), 77, proto=17),
        flow(a, b, 40006, 53, t(90), t(90), 11, proto=17),
        # TCP and UDP on the same ports are different connections
        flow(a, b, 40007, 53, t(100), t(100), 1, proto=6),
        flow(b, a, 53, 40007, t(100), t(100), 2, proto=17),
    ]
    path = os.path.join(tmp, "pairs.json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    out, _ = golden_run("pairing.out", ["-n", "--services", SERVICES, "-m", "0", path])
    rc, out2, _ = run(["-n", "--services", SERVICES, "-m", "0", "-w", "7", path])
    check("10.0.0.1 (10.0.0.1) to 10.0.0.2 (10.0.0.2)\n" in out2 and
          out2.count("[one-way]") == out.count("[one-way]") - 2,
          "a wider window should pair the 6 s answer:\n" + out2)


def case_horizon(tmp):
    """Flows far apart in receive time do not wait for each other forever,
    and output stays in start order within the horizon."""
    a, b = "10.1.0.1", "10.1.0.2"
    lines = []
    for i in range(50):
        lines.append(flow(a, b, 41000 + i, 80, t(i * 60), t(i * 60 + 1), 1000 + i))
        if i % 2 == 0:
            lines.append(flow(b, a, 80, 41000 + i, t(i * 60 + 0.5), t(i * 60 + 1), 10))
    path = os.path.join(tmp, "many.json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", "--horizon", "120", path])
    rows = out.splitlines()
    check(rc == 0 and len(rows) == 50, "want 50 connections, got %d:\n%s" % (len(rows), out))
    check(rows == sorted(rows), "not in start order")
    check(sum("[one-way]" in r for r in rows) == 25, "want 25 one-way:\n" + out)


def case_malformed(tmp):
    path = os.path.join(tmp, "bad.json")
    with open(path, "wb") as f:
        f.write(b"{\"a\":1}\n\x00\xff garbage\n" + b"x" * (2 * 1024 * 1024) + b"\n"
                + b"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"start\":\"2024-13-01T00:00:00Z\"}\n"
                + b"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"src_port\":70000}\n"
                + b"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"bytes\":-1}\n"
                + b"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"bytes\":1.5}\n"
                + b"{} {}\n" + flow("10.0.0.1", "10.0.0.2", 1, 2, t(0)).encode() + b"\n"
                + b"{\"src_addr\":\"10.0.0.1\",\"dst_addr\":\"10.0.0.2\",\"bytes\":18446744073709551615,\"start\":\"2024-05-02T00:00:00Z\"}\n"
                + b"{\"truncated")
    rc, out, err = run(["-n", "-m", "0", path])
    check(rc == 0, "malformed input must not be fatal: %d %s" % (rc, err))
    check("8 malformed lines skipped" in err, "count: " + err)
    check("1 flow record without addresses or times skipped" in err, err)
    check(len(out.splitlines()) == 2 and "| 17179869184.00G |" in out, out)
    rc, out, err = run(["-n", os.path.join(tmp, "missing.json"), path])
    check(rc == 1 and "missing.json" in err, "a missing file is an error: %d %s" % (rc, err))
    bad_gz = gzip.compress(b"{}\n" * 1000)[:-30]
    with open(os.path.join(tmp, "trunc.json.gz"), "wb") as f:
        f.write(bad_gz)
    rc, out, err = run(["-n", os.path.join(tmp, "trunc.json.gz")])
    check(rc == 1 and "trunc" in err, "truncated gzip: %d %s" % (rc, err))


def case_chart(tmp):
    d = golden_dir(tmp)
    svg = os.path.join(tmp, "chart.svg")
    rc, out, err = run(["-n", "--services", SERVICES, "--summary", "--chart", svg, d])
    check(rc == 0, err)
    xmllint = shutil.which("xmllint")
    if not xmllint:
        print("xmllint not installed (libxml2-utils)")
        return SKIP
    p = subprocess.run([xmllint, "--noout", svg], capture_output=True)
    check(p.returncode == 0, "not well-formed: " + p.stderr.decode())
    text = open(svg).read()
    series = re.findall(r'data-service="([^"]*)"', text)
    check(series[:3] == ["UNKNOWN", "SSH", "HTTPS"], "series: %s" % series)
    for s in ("HTTP", "GRE", "DOMAIN", "MYSQL"):
        check(s in series, "missing series %s: %s" % (s, series))
    check("other" in series and len(series) == 9, "top 8 + other: %s" % series)
    check("bytes per " in text and "local time (UTC+0000)" in text, "axis titles missing")
    check("Service (total)" in text and "22.79G" in text, "legend missing")
    # Empty input still gives a valid picture.
    empty = os.path.join(tmp, "empty.svg")
    rc, _, err = run(["-n", "--chart", empty, os.devnull])
    check(rc == 0 and subprocess.run([xmllint, "--noout", empty]).returncode == 0, err)


def case_render(tmp):
    rsvg = shutil.which("rsvg-convert")
    if not rsvg:
        print("rsvg-convert not installed (librsvg2-bin)")
        return SKIP
    d = golden_dir(tmp)
    svg = os.path.join(tmp, "chart.svg")
    png = os.environ.get("CHART_PNG") or os.path.join(tmp, "chart.png")
    rc, _, err = run(["-n", "--services", SERVICES, "-m", "0", "--chart", svg, d])
    check(rc == 0, err)
    p = subprocess.run([rsvg, "-o", png, svg], capture_output=True)
    check(p.returncode == 0, "rsvg-convert failed: " + p.stderr.decode())
    with open(png, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    w, h = struct.unpack(">II", head[16:24])
    check((w, h) == (1000, 540), "size %dx%d" % (w, h))


# A tiny DNS server: PTR answers from a table, NXDOMAIN for the rest, and
# silence for names in `silent` (to exercise the timeout).
class FakeDNS(threading.Thread):
    def __init__(self, answers, silent):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answers, self.silent, self.queries = answers, silent, []

    def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            qid, flags, qd = struct.unpack(">HHH", data[:6])
            labels, i = [], 12
            while data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += data[i] + 1
            question = data[12:i + 5]
            name = ".".join(labels).lower()  # evdns randomizes the case
            self.queries.append(name)
            if name in self.silent:
                continue
            answer = self.answers.get(name)
            if answer is None:
                self.sock.sendto(struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, peer)
                continue
            rdata = b"".join(bytes([len(p)]) + p.encode() for p in answer.split(".")) + b"\0"
            rr = b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 300, len(rdata)) + rdata
            self.sock.sendto(struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr, peer)


def ptr(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def case_dns(tmp):
    dns = FakeDNS({ptr("10.2.0.1"): "alpha.example", ptr("10.2.0.2"): "beta.example",
                   ptr("10.2.0.3"): "bad\x01name.example"},
                  {ptr("10.2.0.9")})
    dns.start()
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        f.write("10.2.0.4 from-hosts-file\n")
    lines = [flow("10.2.0.%d" % (i % 5 + 1), "10.2.0.9", 42000 + i, 80, t(i), t(i + 1), 10)
             for i in range(20)]
    path = os.path.join(tmp, "dns.json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    t0 = time.monotonic()
    rc, out, err = run(["--hosts", hosts, "--nameserver", "127.0.0.1:%d" % dns.port,
                        "--dns-timeout", "0.5", "--dns-parallel", "2", "--services",
                        SERVICES, "-m", "0", path])
    elapsed = time.monotonic() - t0
    check(rc == 0, err)
    rows = out.splitlines()
    check(len(rows) == 20, out)
    check(rows[0].endswith("| alpha.example (10.2.0.1) to 10.2.0.9 (10.2.0.9) [one-way]"), rows[0])
    check("beta.example (10.2.0.2)" in rows[1], rows[1])
    check("bad?name.example (10.2.0.3)" in rows[2], rows[2])
    check("from-hosts-file (10.2.0.4)" in rows[3], rows[3])
    check("10.2.0.5 (10.2.0.5)" in rows[4], rows[4])
    check(rows == sorted(rows), "order changed")
    # cache: one query per address (the hosts-file name never reaches DNS)
    check(sorted(set(dns.queries)) == sorted(dns.queries), "repeated queries: %s" % dns.queries)
    check(ptr("10.2.0.4") not in dns.queries, "hosts file name was queried")
    check(elapsed < 5, "a silent server stalled the output %.1f s" % elapsed)


def case_numeric_no_dns(tmp):
    """-n never resolves: a name server that would answer is not asked."""
    dns = FakeDNS({ptr("10.3.0.1"): "should-not-appear.example"}, set())
    dns.start()
    path = os.path.join(tmp, "one.json")
    with open(path, "w") as f:
        f.write(flow("10.3.0.1", "10.3.0.2", 1234, 22, t(0), t(1), 5) + "\n")
    rc, out, err = run(["-n", "--nameserver", "127.0.0.1:%d" % dns.port, "-m", "0", path])
    check(rc == 0 and "should-not-appear" not in out and not dns.queries, out + err)


def case_system_services(tmp):
    """Without --services the system database names ports (protocol-aware)."""
    try:
        socket.getservbyport(22, "tcp")
        socket.getservbyport(53, "udp")
    except OSError:
        print("no /etc/services entries for ssh/domain (netbase)")
        return SKIP
    path = os.path.join(tmp, "svc.json")
    with open(path, "w") as f:
        f.write(flow("10.4.0.1", "10.4.0.2", 50000, 22, t(0), t(1), 5) + "\n")
        f.write(flow("10.4.0.1", "10.4.0.2", 50001, 53, t(2), t(3), 5, proto=17) + "\n")
        f.write(flow("10.4.0.1", "10.4.0.2", 50002, 61999, t(4), t(5), 5, proto=17) + "\n")
    rc, out, err = run(["-n", "-m", "0", path])
    rows = out.splitlines()
    check(rc == 0 and len(rows) == 3, out + err)
    check(": SSH     |" in rows[0] and ": DOMAIN  |" in rows[1] and ": UNKNOWN |" in rows[2], out)


def case_options(tmp):
    rc, out, _ = run(["-V"])
    check(rc == 0 and re.match(r"netflow-analyze \d+\.\d+", out), out)
    rc, out, _ = run(["--help"])
    check(rc == 0 and "--min-bytes" in out and "--chart" in out, out)
    for bad in (["--bogus", "x"], ["--window", "abc", "x"], ["--host", "300.1.1.1", "x"],
                ["--since", "yesterday", "x"], ["--port", "70000", "x"], []):
        rc, out, err = run(bad)
        check(rc == 2 and err, "%s: exit %d" % (bad, rc))


def case_e2e(tmp):
    """Real-exporter datagrams into netflowd, then the analyzer on its files."""
    netflowd = os.environ.get("NETFLOWD")
    if not netflowd or not os.access(netflowd, os.X_OK):
        print("netflowd not built")
        return SKIP
    # python-netflow's PACKET_V5 (softflowd 1.0.0): a ping pair and one mDNS flow.
    v5 = bytes.fromhex(
        "00050003000379a35e80c58622a55ab00000000000000000ac110002ac11000100000000000000000000000a00000348"
        "00002f4c0000527600000800000001000000000000000000ac110001ac11000200000000000000000000000a00000348"
        "00002f4c0000527600000000000001000000000000000000ac110001e00000fb000000000000000000000001000000a9"
        "0000e01c0000e01c14e914e9000011000000000000000000")
    out_dir = os.path.join(tmp, "flows")
    os.makedirs(out_dir)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    # The classic invocation of DESIGN.md, rotating every second.
    log = open(os.path.join(tmp, "netflowd.log"), "w+")
    daemon = subprocess.Popen([netflowd, "-p", str(port), "-o", out_dir, "-r", "1"],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        time.sleep(0.5)
        if daemon.poll() is not None:
            raise Failure("netflowd exited: " + open(log.name).read())
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(v5, ("127.0.0.1", port))
        s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                not f.startswith(".") for f in os.listdir(out_dir)):
            time.sleep(0.2)
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
    if not any(not f.startswith(".") for f in os.listdir(out_dir)):
        raise Failure("netflowd wrote no files: " + open(log.name).read())
    for f in os.listdir(out_dir):
        if not f.startswith("."):
            strictjson.check_file(os.path.join(out_dir, f))
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", out_dir])
    check(rc == 0, err)
    rows = out.splitlines()
    check(len(rows) == 2, "want 2 connections:\n" + out + err)
    check(any(re.search(r": ICMP/ECHO \| 1\.64K +\| 9 sec +\| 172\.17\.0\.2 \(172\.17\.0\.2\) "
                        r"to 172\.17\.0\.1 \(172\.17\.0\.1\)$", r) for r in rows), out)
    check(any(re.search(r": MDNS +\| 169B +\| 0 sec +\| 172\.17\.0\.1 \(172\.17\.0\.1\) to "
                        r"224\.0\.0\.251 \(224\.0\.0\.251\) \[one-way\]$", r) for r in rows), out)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    fn = globals().get("case_" + sys.argv[1].replace("-", "_"))
    if not fn:
        print("no such case: " + sys.argv[1])
        return 2
    tmp = tempfile.mkdtemp(prefix="analyzer-test-")
    try:
        r = fn(tmp)
        return SKIP if r == SKIP else 0
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
