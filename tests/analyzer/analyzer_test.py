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
import mmdbtest  # noqa: E402
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


def xxh32(data, seed=0):
    """XXH32 of a short input (the LZ4 frame header checksum)."""
    p1, p2, p3, p4, p5, m = 2654435761, 2246822519, 3266489917, 668265263, 374761393, 0xffffffff
    assert len(data) < 16

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m
    h, i = (seed + p5 + len(data)) & m, 0
    while i + 4 <= len(data):
        h = rotl((h + struct.unpack("<I", data[i:i + 4])[0] * p3) & m, 17) * p4 & m
        i += 4
    for b in data[i:]:
        h = rotl((h + b * p5) & m, 11) * p1 & m
    h = ((h ^ (h >> 15)) * p2) & m
    h = ((h ^ (h >> 13)) * p3) & m
    return h ^ (h >> 16)


def lz4_raw(data):
    """A valid LZ4 frame of stored (uncompressed) blocks: no lz4 module needed."""
    descriptor = bytes([0x60, 0x40])  # version 1, independent blocks; 64 KiB blocks
    out = bytearray(b"\x04\x22\x4d\x18" + descriptor + bytes([(xxh32(descriptor) >> 8) & 0xff]))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        out += struct.pack("<I", len(chunk) | 0x80000000) + chunk
    return bytes(out + b"\0\0\0\0")


HAVE_ZSTD = os.environ.get("ANALYZER_ZSTD", "1") == "1"
HAVE_LZ4 = os.environ.get("ANALYZER_LZ4", "1") == "1"
# Cases that read the golden .zst file (or zstd on stdin).
NEED_ZSTD = {"golden_numeric", "golden_all", "golden_hosts", "golden_json", "summary",
             "summary_json", "filters", "out_of_order", "stdin", "chart", "render",
             "special_files", "query_filter_modes"}


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
        elif out.endswith(".lz4"):
            data = lz4_raw(data)
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


def case_special_files(tmp):
    """A FIFO or directory named *.json inside a directory is skipped with a
    warning (it used to hang the run); named explicitly, a FIFO is read."""
    d = golden_dir(tmp)
    _, want, _ = run(["-n", "--services", SERVICES, "-m", "0", d])
    os.mkfifo(os.path.join(d, "20240501T999999Z.json"))
    os.mkdir(os.path.join(d, "sub.json"))
    try:
        rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", d], timeout=20)
    except subprocess.TimeoutExpired:
        raise Failure("a FIFO in the directory blocked the run")
    check(rc == 0 and out == want, "rc %d, output differs:\n%s%s" % (rc, out, err))
    check(err.count("not a regular file, skipped") == 2, err)
    fifo = os.path.join(tmp, "pipe.json")
    os.mkfifo(fifo)
    line = flow("10.5.0.1", "10.5.0.2", 50000, 22, t(0), t(1), 5)

    def feed():
        with open(fifo, "w") as f:
            f.write(line + "\n")
    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", fifo], timeout=20)
    writer.join(5)
    check(rc == 0 and "10.5.0.1 (10.5.0.1) to 10.5.0.2" in out and not err, out + err)


def case_lz4(tmp):
    """LZ4 frame files (compress = lz4) read like .gz/.zst: by content, in a
    directory by name, on stdin; truncated ones are errors. Built without
    liblz4 (or libzstd), such a file is refused with a clear message."""
    d = golden_dir(tmp)
    plain = os.path.join(d, "20240501T120000Z.json")
    data = open(plain, "rb").read()
    args = ["-n", "--services", SERVICES, "-m", "0"]
    if not (HAVE_LZ4 and HAVE_ZSTD):
        for have, name, wrap in ((HAVE_LZ4, "lz4", lz4_raw), (HAVE_ZSTD, "zstd", zstd_raw)):
            if have:
                continue
            path = os.path.join(tmp, "x.json." + ("lz4" if name == "lz4" else "zst"))
            with open(path, "wb") as f:
                f.write(wrap(data))
            rc, out, err = run(args + [path])
            check(rc == 1 and "built without %s support" % name in err, "%d %s" % (rc, err))
        return 0
    _, want, _ = run(args + [d])
    os.unlink(plain)
    with open(plain + ".lz4", "wb") as f:
        f.write(lz4_raw(data))
    rc, out, err = run(args + [d])
    check(rc == 0 and out == want, "lz4 file in a directory differs:\n" + out + err)
    _, want1, _ = run(args + ["-"], stdin=data)
    rc, out, err = run(args + ["-"], stdin=lz4_raw(data) + lz4_raw(b""))
    check(rc == 0 and out == want1, "lz4 on stdin (two frames) differs:\n" + out + err)
    lz4 = shutil.which("lz4")
    if lz4:  # real compressed blocks, two frames in one file
        real = subprocess.run([lz4, "-c", "-q"], input=data[:1000], capture_output=True).stdout
        real += subprocess.run([lz4, "-c", "-q", "--content-size"], input=data[1000:],
                               capture_output=True).stdout
        rc, out, err = run(args + ["-"], stdin=real)
        check(rc == 0 and out == want1, "lz4(1) output differs:\n" + out + err)
    with open(os.path.join(tmp, "cut.json.lz4"), "wb") as f:
        f.write(lz4_raw(data)[:-10])
    rc, out, err = run(args + [os.path.join(tmp, "cut.json.lz4")])
    check(rc == 1 and "truncated lz4 data" in err, "truncated lz4: %d %s" % (rc, err))


def flow(src, dst, sport, dport, start, end=None, nbytes=1000, proto=6, recv=None, **kw):
    d = {"time_received": recv or end or start, "exporter": "192.0.2.254", "version": 9,
         "start": start, "end": end or start, "src_addr": src, "dst_addr": dst,
         "src_port": sport, "dst_port": dport, "proto": proto, "bytes": nbytes,
         "packets": kw.pop("packets", 1)}
    d.update(kw)
    import json
    return json.dumps(d, separators=(",", ":"))


def t(sec):
    """2024-05-02 00:00:00 UTC + sec, RFC 3339 with milliseconds."""
    base = 1714608000
    ms = int(round(sec * 1000))
    tm = time.gmtime(base + ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + ".%03dZ" % (ms % 1000)


def summary_json(args):
    import json
    rc, out, err = run(["-n", "--summary", "--json"] + args)
    check(rc == 0, "exit %d: %s" % (rc, err))
    return json.loads(out.splitlines()[0]), err


def conns_json(args):
    import json
    rc, out, err = run(["-n", "-m", "0", "--json"] + args)
    check(rc == 0, "exit %d: %s" % (rc, err))
    return [json.loads(line) for line in out.splitlines()], err


def case_saturation(tmp):
    """Totals that pass 2^64 stop at the limit instead of wrapping."""
    big = 2**63 + 5
    path = os.path.join(tmp, "big.json")
    with open(path, "w") as f:
        f.write(flow("10.6.0.1", "10.6.0.2", 50000, 80, t(0), t(1), big, packets=big) + "\n")
        f.write(flow("10.6.0.2", "10.6.0.1", 80, 50000, t(0.5), t(1), big, packets=big) + "\n")
        f.write(flow("10.6.0.3", "10.6.0.4", 50001, 80, t(2), t(3), big) + "\n")
    top = 2**64 - 1
    totals, _ = summary_json([path])
    check(totals["bytes"] == top and totals["packets"] == top and
          totals.get("bytes_saturated") is True, "totals wrapped: %s" % totals)
    rc, out, err = run(["-n", "--summary", path])
    check("(18446744073709551615 or more)" in out and
          "Packets          18446744073709551615 or more" in out, out)
    check(re.search(r"\n +1 +17179869184\.00G +18446744073709551615 .* 10\.6\.0\.[12]\n", out),
          "talker row wrapped:\n" + out)
    conns, _ = conns_json([path])
    check(conns[0]["bytes"] == top and conns[0]["packets"] == top and
          conns[0]["bytes_out"] == big, "connection wrapped: %s" % conns[0])


def case_nsel(tmp):
    """Cisco ASA NSEL: initiator/responder counters, no bytes/packets. One
    record is a whole connection: both directions count."""
    asa = dict(exporter="192.0.2.40", version=9, firewallEvent=2)
    path = os.path.join(tmp, "asa.json")
    with open(path, "w") as f:
        for line in (
                flow("10.7.0.1", "10.7.0.2", 50000, 443, t(0), t(9), None,
                     initiatorOctets=1000, responderOctets=50000,
                     initiatorPackets=10, responderPackets=40, **asa),
                flow("10.7.0.1", "10.7.0.3", 50001, 80, t(10), t(11), None,
                     initiatorOctets=120, responderOctets=0,
                     initiatorPackets=2, responderPackets=0, **asa),
                # a periodic flow-update of the first connection: its bytes
                # are in the teardown record above already
                flow("10.7.0.1", "10.7.0.2", 50000, 443, t(0), t(5), None,
                     initiatorOctets=600, responderOctets=30000,
                     initiatorPackets=6, responderPackets=20,
                     **dict(asa, firewallEvent=5))):
            import json
            d = json.loads(line)
            del d["bytes"], d["packets"]
            f.write(json.dumps(d) + "\n")
    conns, err = conns_json(["--services", SERVICES, path])
    check(len(conns) == 2, conns)
    check("1 firewall flow-update record skipped" in err, err)
    c = conns[0]
    check(c["bytes"] == 51000 and c["packets"] == 50 and c["bytes_out"] == 1000 and
          c["bytes_in"] == 50000 and c["paired"] is True, "NSEL connection: %s" % c)
    c = conns[1]
    check(c["bytes"] == 120 and c["bytes_in"] == 0 and c["paired"] is False,
          "NSEL without answer: %s" % c)
    totals, _ = summary_json([path])
    check(totals["bytes"] == 51120 and totals["packets"] == 52 and
          totals["connections"] == 2 and totals["paired"] == 1, totals)
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", path])
    check(": HTTPS   | 49.80K   | 9 sec     | 10.7.0.1 (10.7.0.1) to 10.7.0.2 (10.7.0.2)\n"
          in out, out)


def mixed_sampled_input():
    """NetFlow v9 sampled 1:100 (the interval learned from options data, as
    netflowd writes it) and sFlow samples at 1:1000, with counter samples."""
    import json
    lines = [json.dumps({"type": "options", "time_received": t(0), "exporter": "192.0.2.254",
                         "version": 9, "domain": 0, "sampling_interval": 100})]
    for i in range(3):
        lines.append(flow("10.8.0.1", "10.8.0.2", 50000 + i, 443, t(i), t(i + 1), 1000,
                          sampling_interval=100))
        lines.append(flow("10.8.0.2", "10.8.0.1", 443, 50000 + i, t(i + 0.1), t(i + 1), 2000,
                          sampling_interval=100))
    for i in range(4):
        d = {"time_received": t(10 + i), "exporter": "192.0.2.9", "exporter_port": 6343,
             "version": 5, "format": "sflow", "agent": "192.0.2.9", "domain": 0,
             "start": t(10 + i), "end": t(10 + i), "src_addr": "10.8.1.1",
             "dst_addr": "10.8.1.2", "src_port": 443, "dst_port": 51000, "proto": 6,
             "bytes": 1514, "packets": 1, "sampling_interval": 1000, "sample_pool": 123456,
             "drops": 0, "in_if": 3, "out_if": 5}
        lines.append(json.dumps(d))
    lines.append(json.dumps({"type": "counters", "time_received": t(12), "exporter": "192.0.2.9",
                             "version": 5, "format": "sflow", "agent": "192.0.2.9",
                             "ifIndex": 3, "ifInOctets": 123456789}))
    lines.append(flow("10.8.2.1", "10.8.2.2", 50100, 22, t(20), t(21), 777))  # unsampled
    return "\n".join(lines) + "\n"


def case_sampling(tmp):
    path = os.path.join(tmp, "mixed.json")
    with open(path, "w") as f:
        f.write(mixed_sampled_input())
    scaled = 3 * 3000 * 100 + 4 * 1514 * 1000 + 777
    raw = 3 * 3000 + 4 * 1514 + 777
    totals, _ = summary_json([path])
    check(totals["bytes"] == scaled and totals["packets"] == 6 * 100 + 4 * 1000 + 1 and
          totals["flows"] == 11 and totals["sampled_records"] == 10 and
          totals["scaled"] is True and
          totals["sampling_intervals"] == [{"interval": 100, "records": 6},
                                           {"interval": 1000, "records": 4}], totals)
    totals, _ = summary_json(["--no-scale", path])
    check(totals["bytes"] == raw and totals["scaled"] is False, totals)
    rc, out, err = run(["-n", "--summary", "--services", SERVICES, path])
    check("Sampling         10 records scaled by their sampling interval: 6 at 1:100, "
          "4 at 1:1000\n" in out, out)
    check("Flows            11 (v9 7, sFlow 4)\n" in out, out)
    rc, out, err = run(["-n", "--summary", "--no-scale", path])
    check("Sampling         10 records sampled, shown as exported (--no-scale)" in out, out)
    conns, err = conns_json(["--services", SERVICES, path])
    check([c["bytes"] for c in conns] == [300000] * 3 + [1514000] * 4 + [777], conns)
    check(conns[0]["bytes_out"] == 100000 and conns[0]["packets"] == 200, conns[0])
    check("10 records scaled by their sampling interval" in err, err)
    conns, err = conns_json(["--no-scale", path])
    check([c["bytes"] for c in conns] == [3000] * 3 + [1514] * 4 + [777], conns)
    # --min-bytes sees scaled sizes: the sFlow samples are 1.44M each.
    rc, out, err = run(["-n", "--services", SERVICES, path])
    check(len(out.splitlines()) == 4, out)
    svg = os.path.join(tmp, "chart.svg")
    rc, out, err = run(["-n", "--services", SERVICES, "--summary", "--chart", svg, path])
    check(rc == 0 and "HTTPS (6.63M)" in open(svg).read(), "chart not scaled: " + err)


def case_kcat(tmp):
    """`kcat -C -b HOST -t TOPIC -e | netflow-analyze -`: messages separated by
    newlines, blank lines possible, the last one without a newline."""
    lines = [flow("10.9.0.%d" % i, "10.9.1.1", 50000 + i, 80, t(i), t(i + 1), 100 + i)
             for i in range(1, 6)]
    data = ("\n\n".join(lines[:3]) + "\n\r\n" + "\n".join(lines[3:])).encode()
    check(not data.endswith(b"\n"), "test input must end without a newline")
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", "-"], stdin=data)
    rows = out.splitlines()
    check(rc == 0 and len(rows) == 5 and not err, "rc %d:\n%s%s" % (rc, out, err))
    check("10.9.0.5 (10.9.0.5) to 10.9.1.1" in rows[4], rows[4])


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
        # same start, different bytes: the service port still decides
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
                ["--since", "yesterday", "x"], ["--port", "70000", "x"], [],
                ["--until", "2026-02-30", "x"], ["--since", "2026-04-31 10:00", "x"],
                ["--since", "2025-02-29T00:00:00Z", "x"]):
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


# ------------------------------------------------ the query tool (issue 18)

def write_slot(d, i, lines):
    """The i-th five-minute slot file of d (from 2024-05-01T00:00Z)."""
    tm = time.gmtime(1714608000 + i * 300)
    with open(os.path.join(d, time.strftime("%Y%m%dT%H%M%SZ.json", tm)), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def query_input(tmp, nfiles=6, per_file=400):
    """Slot-named files of varied flows (v4/v6, tcp/udp/icmp, many hosts)."""
    import random
    rnd = random.Random(18)
    d = os.path.join(tmp, "q")
    os.makedirs(d, exist_ok=True)
    for i in range(nfiles):
        lines = []
        for j in range(per_file):
            v6 = rnd.random() < 0.2
            src = ("2001:db8::%x" % rnd.randint(1, 40)) if v6 else "10.0.%d.%d" % (
                rnd.randint(0, 3), rnd.randint(1, 60))
            dst = ("2001:db8:1::%x" % rnd.randint(1, 9)) if v6 else "192.0.2.%d" % rnd.randint(1, 30)
            proto = rnd.choice([6, 6, 6, 17, 17, 1])
            start = i * 300 + rnd.randint(0, 299)
            extra = {"tcp_flags": rnd.choice([2, 18, 27, 4]), "tos": rnd.choice([0, 0, 32]),
                     "in_if": rnd.randint(1, 4), "out_if": rnd.randint(1, 4),
                     "src_as": rnd.choice([0, 64500, 64501]), "dst_as": rnd.choice([0, 15169])}
            if proto == 1 and not v6:
                extra.update(icmp_type=8, icmp_code=0)
            lines.append(flow(src, dst, rnd.randint(1024, 65535), rnd.choice([53, 80, 443, 22, 8080]),
                              t(start), t(start + rnd.randint(0, 30)), rnd.randint(40, 2000000),
                              proto=proto, packets=rnd.randint(1, 1500), **extra))
        write_slot(d, i, lines)
    return d


QUERIES = [
    ["--stat", "dstip/bytes"], ["--stat", "ip/flows/packets", "--top", "5"],
    ["--stat", "dstport:p/bps"], ["--stat", "srcip4/16/bytes"], ["--stat", "proto/pps"],
    ["--stat", "srcas/bpp", "--stat", "flags/flows"], ["--stat", "if/bytes", "--csv"],
    ["--stat", "dstip/bytes", "--json"], ["--stat", "dstport/flows", "--every", "10m", "--csv"],
    ["--aggregate", "srcip,dstport"], ["--aggregate", "5tuple", "--csv"],
    ["--aggregate", "srcip4/24", "--stat", "record/bytes", "--json"],
    ["--aggregate", "srcip", "--post-filter", "flows > 40 and bytes > 1m"],
    ["--flows", "--filter", "proto udp and dst port 53"], ["--flows", "--order", "bytes", "--top", "50"],
    ["--flows", "--order", "tstart", "--csv"], ["--flows", "--json", "--filter", "ipv6"],
]


def case_threads(tmp):
    """--threads N is byte-identical to --threads 1, for every query mode."""
    d = query_input(tmp)
    for q in QUERIES:
        outs = []
        for n in ("1", "2", "4"):
            rc, out, err = run(["-n", "--threads", n] + q + [d])
            check(rc == 0, "%s: rc %d: %s" % (q, rc, err))
            outs.append(out)
        check(outs[0] and outs[0] == outs[1] == outs[2],
              "%s: --threads 1/2/4 differ (or no output)" % q)


def rows_of(out):
    return [l for l in out.splitlines() if l and l[0].isdigit()]


def case_query(tmp):
    """The query modes' numbers, computed again here from the input."""
    import collections
    import json
    d = query_input(tmp, nfiles=3, per_file=300)
    flows = [json.loads(l) for f in sorted(os.listdir(d)) for l in open(os.path.join(d, f))]
    # --stat dstip/bytes --json: every row, totals and shares
    rc, out, err = run(["-n", "--stat", "dstip/bytes", "--top", "100000", "--json", d])
    check(rc == 0, err)
    got = {r["key"]: (r["flows"], r["packets"], r["bytes"]) for r in map(json.loads, out.splitlines())}
    want = collections.defaultdict(lambda: [0, 0, 0])
    for f in flows:
        w = want[f["dst_addr"]]
        w[0] += 1
        w[1] += f["packets"]
        w[2] += f["bytes"]
    check(got == {k: tuple(v) for k, v in want.items()}, "dstip statistic differs")
    order = [r["bytes"] for r in map(json.loads, out.splitlines())]
    check(order == sorted(order, reverse=True), "not ordered by bytes")
    # --top limits rows; the text table has the totals line
    rc, out, err = run(["-n", "--stat", "dstip/bytes", "--top", "3", d])
    check(len(rows_of(out)) == 3 and "Summary: total flows: %d," % len(flows) in out, out)
    # --top 0: every row, as nfdump's -n 0
    rc, out0, err = run(["-n", "--stat", "dstip/bytes", "--top", "0", d])
    check(len(rows_of(out0)) == len(want), "--top 0: %d rows" % len(rows_of(out0)))
    # ip: each flow once for its source, once for its destination
    rc, out, err = run(["-n", "--stat", "ip", "--top", "100000", "--json", d])
    check(sum(json.loads(l)["flows"] for l in out.splitlines()) == 2 * len(flows), "ip stat")
    # :p splits by protocol
    rc, out, err = run(["-n", "--stat", "dstport:p", "--top", "100000", "--json", d])
    keys = {(r["proto"], r["key"]) for r in map(json.loads, out.splitlines())}
    # (an ICMP flow's port is type * 256 + code, as nfdump has it)
    check(keys == {(f["proto"], str(f["icmp_type"] * 256 if "icmp_type" in f else f["dst_port"]))
                   for f in flows}, "dstport:p keys")
    # --aggregate with --post-filter
    rc, out, err = run(["-n", "--aggregate", "srcip", "--post-filter", "flows > 5", "--json", d])
    per = collections.Counter(f["src_addr"] for f in flows)
    got = {r["srcip"]: r["flows"] for r in map(json.loads, out.splitlines())}
    check(got == {k: v for k, v in per.items() if v > 5}, "post-filter: %s" % got)
    # --flows --filter: exactly the matching records; --order bytes: largest first
    rc, out, err = run(["-n", "--flows", "--json", "--order", "bytes", "--filter",
                        "proto udp and dst port 53", d])
    got = [json.loads(l) for l in out.splitlines()]
    want = [f for f in flows if f["proto"] == 17 and f["dst_port"] == 53]
    check(len(got) == len(want) and sorted(g["bytes"] for g in got) == sorted(w["bytes"] for w in want),
          "listing")
    check([g["bytes"] for g in got] == sorted((g["bytes"] for g in got), reverse=True), "order")
    # --every: buckets that add up to the whole
    rc, out, err = run(["-n", "--stat", "proto", "--every", "5m", "--csv", "--top", "100", d])
    lines = out.splitlines()
    check(lines[0].startswith("bucket,ts,"), lines[0])
    check(sum(int(l.split(",")[6]) for l in lines[1:]) == len(flows), "every: flows")
    check(len({l.split(",")[0] for l in lines[1:]}) == 3, "every: 3 buckets of 5 minutes")


def case_query_errors(tmp):
    """Bad filters: exit 2, the message and a caret under the bad token."""
    d = query_input(tmp, nfiles=1, per_file=10)
    rc, out, err = run(["-n", "--flows", "--filter", "proto tcp and dst prot 80", d])
    check(rc == 2 and "'dst ' must be followed by ip, host" in err and
          "  proto tcp and dst prot 80\n                ^\n" in err, "rc %d: %s" % (rc, err))
    # the connection list and --summary take the same filter
    rc, out, err = run(["-n", "--summary", "--filter", "port 99999", d])
    check(rc == 2 and "99999 is out of range" in err and "       ^" in err, err)
    f = os.path.join(tmp, "web.filter")
    with open(f, "w") as fh:
        fh.write("# web traffic\nproto tcp and\n  (port 80 or port 443)\n")
    rc, out, err = run(["-n", "--flows", "--filter-file", f, d])
    check(rc == 0 and not err, "filter file: %d %s" % (rc, err))
    with open(f, "w") as fh:
        fh.write("# web traffic\nproto tcp and\n  (port 80 or prt 443)\n")
    rc, out, err = run(["-n", "--flows", "--filter-file", f, d])
    check(rc == 2 and ", line 3: expected a filter term" in err and
          "    (port 80 or prt 443)\n                ^" in err, err)
    for bad in (["--stat", "dstip/size"], ["--stat", "nosuch"], ["--aggregate", "srcip,srcip"],
                ["--aggregate", "srcip4/33"], ["--flows", "--order", "size"],
                ["--stat", "record"], ["--flows", "--post-filter", "flows > 1"],
                ["--flows", "--summary"], ["--stat", "ip", "--chart", os.path.join(tmp, "c.svg")]):
        rc, out, err = run(["-n"] + bad + [d])
        check(rc == 2 and err, "%s: rc %d" % (bad, rc))
    rc, out, err = run(["-n", "--stat", "srcip", "--max-keys", "3", d])
    check(rc == 1 and "more than 3 distinct keys" in err, "max-keys: %d %s" % (rc, err))


def case_query_filter_modes(tmp):
    """--filter narrows the connection list and --summary as --host/--port do."""
    d = golden_dir(tmp)
    base = ["-n", "--services", SERVICES, "-m", "0"]
    for old, new in ((["--host", "192.0.2.1"], "host 192.0.2.1"),
                     (["--host", "2001:db8::/32"], "net 2001:db8::/32"),
                     (["--exporter", "192.0.2.252"], "router ip 192.0.2.252"),
                     (["--port", "53"], "port 53 and not proto icmp")):
        for mode in ([], ["--summary"], ["--summary", "--json"]):
            r1 = run(base + mode + old + [d])
            r2 = run(base + mode + ["--filter", new, d])
            check(r1[0] == 0 and r1[1] and r1[:2] == r2[:2], "%s vs %r (%s)" % (old, new, mode))


def case_hidden(tmp):
    """Issue 23: connections a threshold hides are counted on stderr."""
    lines = [flow("10.9.0.%d" % i, "10.9.1.1", 50000 + i, 80, t(i), t(i + 1), 100 + i)
             for i in range(1, 6)]
    lines.append(flow("10.9.0.9", "10.9.1.1", 50009, 80, t(9), t(10), 3 << 20))
    data = ("\n".join(lines) + "\n").encode()
    rc, out, err = run(["-n", "--services", SERVICES, "-"], stdin=data)
    check(rc == 0 and len(out.splitlines()) == 1, out)
    check("5 connections below --min-bytes 1048576 not listed (--min-bytes 0 lists all)" in err, err)
    rc, out, err = run(["-n", "--services", SERVICES, "-m", "0", "-"], stdin=data)
    check(len(out.splitlines()) == 6 and "not listed" not in err, err)


def case_slot_skip(tmp):
    """--since/--until leave files outside the window unopened (by slot name)."""
    d = query_input(tmp, nfiles=4, per_file=20)
    names = sorted(os.listdir(d))
    # the first and the last become unreadable: opening them would fail
    for n in (names[0], names[-1]):
        with open(os.path.join(d, n), "wb") as fh:
            fh.write(b"\x1f\x8bnot gzip")
    rc, out, err = run(["-n", "--stat", "proto", "--since", t(300), "--until", t(900), d])
    check(rc == 0 and not err, "rc %d: %s" % (rc, err))
    rc, out, err = run(["-n", "--stat", "proto", d])
    check(rc == 1 and err, "the broken files are read without the window: %d" % rc)


# ---------------------------------------------------------------- enrichment (issue 20)

GEO_AS = [(15169, "GOOGLE", "US"), (3333, "RIPE NCC é", "NL"), (64500, 'Doc "six" \\ net', "DE"),
          (13335, "CLOUDFLARENET", "AU"), (0, None, None)]


def geo_input(tmp, nfiles=4, per_file=300):
    """Slot-named files whose records carry the enrichment keys as the
    collector writes them (only where a value was found)."""
    import random
    rnd = random.Random(20)
    d = os.path.join(tmp, "geo")
    os.makedirs(d, exist_ok=True)
    for i in range(nfiles):
        lines = []
        for j in range(per_file):
            sa, sn, sc = rnd.choice(GEO_AS)
            da, dn, dc = rnd.choice(GEO_AS)
            extra = {"in_if": rnd.randint(1, 3), "out_if": rnd.randint(1, 3)}
            if sa:
                extra.update(src_as=sa, src_as_name=sn, src_country=sc)
            if da:
                extra.update(dst_as=da, dst_as_name=dn)
                if rnd.random() < 0.8:
                    extra["dst_country"] = dc
            if rnd.random() < 0.7:
                extra["in_if_name"] = rnd.choice(["eth0", "eth1", "Gi0/0/1"])
            if rnd.random() < 0.7:
                extra["out_if_name"] = rnd.choice(["uplink", "uplink-2"])
            start = i * 300 + rnd.randint(0, 299)
            lines.append(flow("10.1.%d.%d" % (rnd.randint(0, 3), rnd.randint(1, 50)),
                              "192.0.2.%d" % rnd.randint(1, 40), rnd.randint(1024, 65535),
                              rnd.choice([53, 443, 80]), t(start), t(start + 2),
                              rnd.randint(40, 100000), proto=rnd.choice([6, 17]),
                              packets=rnd.randint(1, 100), **extra))
        write_slot(d, i, lines)
    return d


def geo_records(d):
    import json
    return [json.loads(l) for f in sorted(os.listdir(d)) for l in open(os.path.join(d, f))]


def listed(args):
    import json
    rc, out, err = run(["-n", "--flows", "--json"] + args)
    check(rc == 0, "%s: rc %d: %s" % (args, rc, err))
    return [strictjson.loads(l) for l in out.splitlines()]


def stat_rows(args):
    rc, out, err = run(["-n", "--top", "0", "--json"] + args)
    check(rc == 0, "%s: rc %d: %s" % (args, rc, err))
    return [strictjson.loads(l) for l in out.splitlines()]


def case_geo_keys(tmp):
    """Filters and statistics over the enrichment keys, computed again here."""
    import collections
    d = geo_input(tmp)
    recs = geo_records(d)
    ident = lambda r: (r["src_addr"], r["src_port"], r["dst_addr"], r["start"], r["bytes"])
    filters = {
        "dst geo US": lambda r: r.get("dst_country") == "US",
        "src geo nl": lambda r: r.get("src_country") == "NL",
        "geo DE": lambda r: "DE" in (r.get("src_country"), r.get("dst_country")),
        "geo in [US, AU]": lambda r: bool({"US", "AU"} & {r.get("src_country"), r.get("dst_country")}),
        "not geo US and proto tcp": lambda r: "US" not in (r.get("src_country"), r.get("dst_country"))
        and r["proto"] == 6,
        "as 15169": lambda r: 15169 in (r.get("src_as"), r.get("dst_as")),
        "src as in [3333 64500]": lambda r: r.get("src_as") in (3333, 64500),
        "dst as 0": lambda r: not r.get("dst_as"),
        "out if name uplink": lambda r: r.get("out_if_name") == "uplink",
        "in if name Gi0/0/1": lambda r: r.get("in_if_name") == "Gi0/0/1",
        "if name eth1": lambda r: "eth1" in (r.get("in_if_name"), r.get("out_if_name")),
        'src if name "eth0" and dst geo NL': lambda r: r.get("in_if_name") == "eth0"
        and r.get("dst_country") == "NL",
    }
    for flt, want in filters.items():
        got = sorted((g["src_addr"], g["src_port"], g["dst_addr"], g["start"], g["bytes"])
                     for g in listed(["--filter", flt, d]))
        exp = sorted(ident(r) for r in recs if want(r))
        check(exp and got == exp, "%r: %d flows, want %d" % (flt, len(got), len(exp)))
    # the listing carries the keys
    for g in listed(["--filter", "dst geo NL", d])[:5]:
        check(g["dst_country"] == "NL" and g["dst_as"] == 3333 and g["dst_as_name"] == "RIPE NCC é", g)
    stats = {
        "srcgeo": lambda r: [r.get("src_country", "-")],
        "dstgeo": lambda r: [r.get("dst_country", "-")],
        "geo": lambda r: [r.get("src_country", "-"), r.get("dst_country", "-")],
        "inifname": lambda r: [r.get("in_if_name", "-")],
        "outifname": lambda r: [r.get("out_if_name", "-")],
        "ifname": lambda r: [r.get("in_if_name", "-"), r.get("out_if_name", "-")],
        "srcas": lambda r: [str(r.get("src_as", 0))],
        "dstas": lambda r: [str(r.get("dst_as", 0))],
        "as": lambda r: [str(r.get("src_as", 0)), str(r.get("dst_as", 0))],
    }
    names = {str(a): n for a, n, c in GEO_AS if a}
    for st, keys in stats.items():
        want = collections.defaultdict(lambda: [0, 0, 0])
        for r in recs:
            for k in keys(r):
                w = want[k]
                w[0] += 1
                w[1] += r["packets"]
                w[2] += r["bytes"]
        rows = stat_rows(["--stat", st + "/bytes", d])
        got = {r["key"]: [r["flows"], r["packets"], r["bytes"]] for r in rows}
        check(got == dict(want), "--stat %s: %s\nwant %s" % (st, got, dict(want)))
        check([r["bytes"] for r in rows] == sorted((r["bytes"] for r in rows), reverse=True), st)
        if st.endswith("as"):
            for r in rows:
                check(r.get("as_name") == names.get(r["key"]), "%s: %s" % (st, r))
    # the text table keeps nfdump's columns and puts the AS name after them
    rc, out, err = run(["-n", "--stat", "dstas/bytes", "--top", "0", d])
    row = [l for l in out.splitlines() if " 15169 " in l]
    check(row and row[0].endswith("  GOOGLE"), out)
    # CSV keeps its columns (the nfdump oracle reads them); names are quoted
    rc, out, err = run(["-n", "--stat", "inifname", "--csv", d])
    check(rc == 0 and out.splitlines()[0] == "ts,te,td,pr,val,fl,flP,pkt,pktP,byt,bytP,pps,bps,bpp", out)
    # --aggregate on the new keys
    rows = stat_rows(["--aggregate", "dstgeo,outifname", d])
    agg = collections.Counter((r.get("dst_country", "-"), r.get("out_if_name", "-")) for r in recs)
    check({(r["dstgeo"], r["outifname"]): r["flows"] for r in rows} == dict(agg), "aggregate")
    # byte-identical whatever --threads says (names are ordered by text, not by id)
    for q in (["--stat", "ifname/flows"], ["--stat", "as/packets"], ["--stat", "geo:p/flows"],
              ["--aggregate", "inifname,srcgeo"], ["--flows", "--csv"], ["--flows"],
              ["--stat", "dstas", "--csv"]):
        outs = set()
        for n in ("1", "2", "4"):
            rc, out, err = run(["-n", "--threads", n] + q + [d])
            check(rc == 0, "%s: %s" % (q, err))
            outs.add(out)
        check(len(outs) == 1, "%s: --threads 1/2/4 differ" % q)
    # the connection list shows them, only where present
    rc, out, err = run(["-n", "-m", "0", "--services", SERVICES, d])
    check(rc == 0 and "AS15169 GOOGLE, US)" in out and "(192.0.2." in out, out[:2000])
    conns = [strictjson.loads(l) for l in
             run(["-n", "-m", "0", "--json", "--services", SERVICES, d])[1].splitlines()]
    check(any(c.get("dst_as_name") == "GOOGLE" and c.get("dst_as") == 15169 for c in conns), "conn json")
    check(all("src_country" not in c or len(c["src_country"]) == 2 for c in conns), "country")
    # bad country codes are errors with a caret
    rc, out, err = run(["-n", "--flows", "--filter", "dst geo USA", d])
    check(rc == 2 and "expected a country code" in err and "  dst geo USA\n          ^" in err, err)


HOSTILE = ['quote " and \\ backslash', "ctl \x01\x02\x1f\x7f end", "new\nline\ttab\r",
           "\u2028\u2029 separators", "</script><b>", "é ü 日本 🙂", "x" * 400, ","]


def case_geo_hostile(tmp):
    """Hostile names stay strict JSON in every --json output, and no control
    byte reaches the text and CSV outputs."""
    import json
    lines = []
    for i, name in enumerate(HOSTILE):
        lines.append(flow("10.2.0.%d" % (i + 1), "192.0.2.%d" % (i + 1), 40000 + i, 443, t(i),
                          t(i + 1), 1000 + i, src_as=64500 + i, src_as_name=name,
                          dst_as=65000 + i, dst_as_name=name, in_if_name=name, out_if_name=name,
                          src_country="DE", dst_country="US"))
    # a line with invalid UTF-8 is not JSON: skipped and counted, as any other
    data = ("\n".join(lines) + "\n").encode() + \
        b'{"start":"2024-05-02T00:00:00.000Z","src_addr":"10.2.1.1","dst_addr":"10.2.1.2","src_as_name":"\xff\xfe"}\n'
    f = os.path.join(tmp, "hostile.json")
    with open(f, "wb") as fh:
        fh.write(data)
    outs = {
        "conn": ["-n", "-m", "0", "--json", f],
        "flows": ["-n", "--flows", "--json", f],
        "srcas": ["-n", "--stat", "srcas", "--json", "--top", "0", f],
        "as": ["-n", "--stat", "as", "--json", "--top", "0", f],
        "inifname": ["-n", "--stat", "inifname", "--json", "--top", "0", f],
        "agg": ["-n", "--aggregate", "outifname,srcas", "--json", f],
        "record": ["-n", "--aggregate", "inifname", "--stat", "record", "--json", f],
    }
    for what, args in outs.items():
        rc, out, err = run(args)
        check(rc == 0 and out, "%s: rc %d %s" % (what, rc, err))
        check(out.endswith("\n"), what)
        objs = [strictjson.loads(l.encode()) for l in out.encode().decode().split("\n")[:-1]]
        check(objs, what)
        values = {v for o in objs for v in o.values() if isinstance(v, str)}
        check(not any("x" * 256 in v for v in values), "%s: a name longer than 255 bytes" % what)
        if what in ("flows", "inifname", "conn"):
            for name in HOSTILE[:6]:
                check(name in values, "%s: %r lost" % (what, name))
    for args in (["-n", "-m", "0", f], ["-n", "--flows", f], ["-n", "--flows", "--csv", f],
                 ["-n", "--stat", "srcas", f], ["-n", "--stat", "ifname", "--csv", f]):
        rc, out, err = run(args)
        check(rc == 0, "%s: %s" % (args, err))
        bad = [c for c in out if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f]
        check(not bad, "%s: control bytes %r in the text" % (args, bad[:5]))
    # the CSV quotes a name with a comma or a quote
    rc, out, err = run(["-n", "--flows", "--csv", f])
    check('"quote "" and \\ backslash"' in out, out)


def mmdb_tools():
    if os.environ.get("ANALYZER_MAXMINDDB", "1") != "1":
        return "built without libmaxminddb"
    return mmdbtest.missing()


def mmdblookup(db, ip, *path):
    """The value at path for ip, as mmdblookup (an independent reader) prints
    it: an int, a str (invalid UTF-8 replaced), or None."""
    p = subprocess.run(["mmdblookup", "--file", db, "--ip", ip] + list(path),
                       capture_output=True, timeout=30)
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if " <" not in line or not line.endswith(">"):
            continue
        v, typ = line.rsplit(" <", 1)
        if typ.startswith("utf8_string"):
            return v[1:-1]
        if typ.startswith("uint") or typ.startswith("int"):
            return int(v)
    return None


GEO_NETS = [
    {"network": "198.51.100.0/24", "asn": 64501, "as_name": "EXAMPLE-NET", "country": "FR"},
    {"network": "198.51.100.128/25", "asn": 64502, "as_name": "Ñandú Telecom", "country": "ES"},
    {"network": "203.0.113.0/24", "asn": 64503, "as_name": {"bytes_hex": "4261642dff6e616d65fe"},
     "country": "JP"},
    {"network": "2001:db8::/32", "asn": 64504, "as_name": "DOC6 \"quoted\"", "country": "DE"},
    {"network": "2001:db8:1::/48", "asn": 64505, "as_name": "DOC6-NESTED", "country": "CH"},
    {"network": "100.64.0.0/10", "asn": 64506, "as_name": "NO-COUNTRY"},
]


def case_geo_db(tmp):
    """--asn-db/--country-db with test databases in each layout: every value
    equal to what mmdblookup reads from the same file."""
    why = mmdb_tools()
    if why:
        print("skip: " + why)
        return SKIP
    import json
    nets = os.path.join(tmp, "nets.json")
    with open(nets, "w") as fh:
        json.dump(GEO_NETS, fh)
    dbs = {}
    for layout in ("geolite2-asn", "geolite2-country", "ipinfo"):
        dbs[layout] = os.path.join(tmp, layout + ".mmdb")
        with open(nets) as fh:
            p = subprocess.run(["perl", os.environ["MKMMDB"], layout, dbs[layout]], stdin=fh,
                               capture_output=True, timeout=60)
        check(p.returncode == 0, "mkmmdb %s: %s" % (layout, p.stderr.decode()))
    addrs = ["198.51.100.7", "198.51.100.200", "203.0.113.9", "2001:db8::5", "2001:db8:1::9",
             "100.64.1.1", "192.0.2.1", "2001:db8:ffff::1", "10.0.0.1"]
    lines = []
    for i, a in enumerate(addrs):
        for j, b in enumerate(addrs):
            if (":" in a) == (":" in b) and a != b:
                lines.append(flow(a, b, 1000 + i, 2000 + j, t(i), t(i + 1), 100 + i * 10 + j))
    # an exporter's AS wins over the database's; the database's name only with its AS
    lines.append(flow("198.51.100.8", "198.51.100.9", 1, 2, t(50), t(51), 7, src_as=777,
                      dst_as=64501))
    # what the record carries is kept
    lines.append(flow("198.51.100.10", "203.0.113.10", 1, 2, t(52), t(53), 8, src_country="IT",
                      dst_as_name="OWN NAME", dst_as=64503))
    f = os.path.join(tmp, "plain.json")
    with open(f, "w") as fh:
        fh.write("\n".join(lines) + "\n")

    def truth(addr, asn_db, cc_db, ipinfo):
        if ipinfo:
            a = mmdblookup(asn_db, addr, "asn")
            asn = int(a[2:]) if a else 0
            name = mmdblookup(asn_db, addr, "as_name")
            cc = mmdblookup(cc_db, addr, "country")
        else:
            asn = mmdblookup(asn_db, addr, "autonomous_system_number") or 0
            name = mmdblookup(asn_db, addr, "autonomous_system_organization")
            cc = mmdblookup(cc_db, addr, "country", "iso_code")
        return asn, name, cc

    cache = {}
    for asn_db, cc_db, ipinfo in ((dbs["geolite2-asn"], dbs["geolite2-country"], False),
                                  (dbs["ipinfo"], dbs["ipinfo"], True)):
        got = listed(["--asn-db", asn_db, "--country-db", cc_db, f])
        check(len(got) == len(lines), "%d of %d flows" % (len(got), len(lines)))
        seen = set()
        for g in got:
            for side in ("src", "dst"):
                addr = g[side + "_addr"]
                key = (asn_db, addr)
                if key not in cache:
                    cache[key] = truth(addr, asn_db, cc_db, ipinfo)
                asn, name, cc = cache[key]
                if g["bytes"] == 7 and side == "src":
                    asn, name = 777, None
                if g["bytes"] == 8 and side == "src":
                    cc = "IT"
                if g["bytes"] == 8 and side == "dst":
                    name = "OWN NAME"
                want = (asn or None, name, cc)
                have = (g.get(side + "_as"), g.get(side + "_as_name"), g.get(side + "_country"))
                check(have == want, "%s %s (%s): %s, mmdblookup says %s" % (
                    os.path.basename(asn_db), addr, side, have, want))
                if name:
                    seen.add(name)
        # nested networks, non-ASCII and invalid UTF-8 (as U+FFFD) all came through
        check({"Ñandú Telecom", "DOC6-NESTED", "EXAMPLE-NET"} <= seen and
              any("\ufffd" in n for n in seen), seen)
        # filters and statistics see the looked-up values
        rows = stat_rows(["--asn-db", asn_db, "--country-db", cc_db, "--stat", "dstgeo", f])
        check(any(r["key"] == "ES" for r in rows), rows)
        n_fr = len(listed(["--asn-db", asn_db, "--country-db", cc_db, "--filter", "src geo ES", f]))
        check(n_fr == sum(1 for l in lines if json.loads(l)["src_addr"] == "198.51.100.200"), n_fr)
        # the connection list takes them too, threads or not
        rc1 = run(["-n", "-m", "0", "--asn-db", asn_db, f])
        check(rc1[0] == 0 and "AS64502 Ñandú Telecom" in rc1[1], rc1[1][:500])
        outs = {run(["-n", "--threads", n, "--asn-db", asn_db, "--stat", "srcas", f])[1]
                for n in ("1", "3")}
        check(len(outs) == 1, "threads")


def case_geo_db_absent(tmp):
    """--asn-db without libmaxminddb, or with a file that is not a database:
    exit 2 with a message that names the file."""
    f = os.path.join(tmp, "x.json")
    with open(f, "w") as fh:
        fh.write(flow("10.0.0.1", "10.0.0.2", 1, 2, t(0)) + "\n")
    bad = os.path.join(tmp, "bad.mmdb")
    with open(bad, "wb") as fh:
        fh.write(b"not a database at all" * 10)
    if os.environ.get("ANALYZER_MAXMINDDB", "1") != "1":
        rc, out, err = run(["-n", "--flows", "--asn-db", bad, f])
        check(rc == 2 and "built without" in err, "%d %s" % (rc, err))
        return 0
    for args, msg in ((["--asn-db", os.path.join(tmp, "none.mmdb")], "No such file"),
                      (["--country-db", bad], "bad.mmdb"), (["--asn-db", tmp], "--asn-db")):
        for mode in (["--flows"], ["-m", "0"], ["--summary"]):
            rc, out, err = run(["-n"] + mode + args + [f])
            check(rc == 2 and msg in err and not out, "%s %s: %d %s" % (args, mode, rc, err))
    return 0


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    name = sys.argv[1].replace("-", "_")
    fn = globals().get("case_" + name)
    if not fn:
        print("no such case: " + sys.argv[1])
        return 2
    if name in NEED_ZSTD and not HAVE_ZSTD:
        print("netflow-analyze built without zstd")
        return SKIP
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
