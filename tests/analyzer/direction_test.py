#!/usr/bin/env python3
"""netflow-analyze's connection direction against ground truth.

    direction_test.py FIXTURE      exit 0 pass, 1 fail, 77 skip

data/direction/traffic.pcap (make-direction-traffic.py) holds connections
whose initiator is known from the packet order: the sender of the first
packet of each conversation. data/direction/FIXTURE.pcap holds that
traffic as exported by a real exporter (make-direction-fixtures.sh). The
test decodes the export with `netflowd --read`, runs netflow-analyze on it
and requires, for every connection of the traffic (IPv4 only for NetFlow
v5): exactly one connection, paired, with the true initiator as its source
in --json; the same source and destination, in the same order, in the text
listing; and --summary counting the same connections and pairs.

FIXTURE live-softflowd-v9 or live-pmacct-ipfix runs that exporter itself on
traffic.pcap (softflowd -r / pmacctd pcap_savefile, under faketime as
make-direction-fixtures.sh does) towards a live netflowd on 127.0.0.1
(--stdout) and checks the same; it skips (77) where the exporter or
faketime is not installed.

Environment: ANALYZER, NETFLOWD, DATA (tests/analyzer/data).
"""
import collections
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import shutil
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import nftest  # noqa: E402

ANALYZER = os.environ.get("ANALYZER", "netflow-analyze")
NETFLOWD = os.environ.get("NETFLOWD", "netflowd")
DATA = os.environ.get("DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
DIRECTION = os.path.join(DATA, "direction")
SERVICES = os.path.join(DATA, "services")
SKIP = 77
# Exporters whose only format here is NetFlow v5, which has no IPv6.
V4_ONLY = {"softflowd-v5", "pmacct-v5", "nfreplay-v5", "fprobe-v5"}


def packets(path):
    """Yields (proto, src, sport, dst, dport) of each IPv4/IPv6 packet of an
    Ethernet pcap; ports 0 for ICMP."""
    with open(path, "rb") as f:
        data = f.read()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4 or struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit("%s: not a little-endian Ethernet pcap" % path)
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        etype = struct.unpack("!H", frame[12:14])[0]
        ip = frame[14:]
        if etype == 0x0800:
            proto, l4 = ip[9], ip[(ip[0] & 15) * 4:]
            src, dst = ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
        elif etype == 0x86DD:
            proto, l4 = ip[6], ip[40:]
            src, dst = ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
        else:
            continue
        sport, dport = struct.unpack("!HH", l4[:4]) if proto in (6, 17) else (0, 0)
        yield proto, str(src), sport, str(dst), dport


def key(proto, a, ap, b, bp):
    return (proto, frozenset([(a, ap), (b, bp)]))


def ground_truth(v4_only):
    """{conversation key: (initiator addr, port)} from the packet order."""
    truth = {}
    for proto, src, sport, dst, dport in packets(os.path.join(DIRECTION, "traffic.pcap")):
        if v4_only and ":" in src:
            continue
        truth.setdefault(key(proto, src, sport, dst, dport), (src, sport))
    return truth


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)
    if p.returncode != 0:
        raise SystemExit("%s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def norm(addr):
    return str(ipaddress.ip_address(addr))


def decode(export, flows):
    """netflowd --read EXPORT into FLOWS; SKIP when it cannot read pcaps."""
    if not os.access(NETFLOWD, os.X_OK):
        print("SKIP: no netflowd binary at %s" % NETFLOWD)
        return SKIP
    with open(flows, "w") as out:
        r = subprocess.run([NETFLOWD, "--read", export, "--stdout"], stdout=out,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0 and "built without pcap" in r.stderr:
        print("SKIP: " + r.stderr.strip())
        return SKIP
    if r.returncode != 0:
        raise SystemExit("netflowd --read %s: exit %d\n%s" % (export, r.returncode, r.stderr))
    return 0


def flow_lines(path):
    with open(path) as f:
        return sum(1 for l in f if '"src_addr"' in l)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


LIVE_TOOLS = {"live-softflowd-v9": ["softflowd", "softflowctl", "faketime"],
              "live-pmacct-ipfix": ["pmacctd", "faketime"]}


def export_live(name, tmp, port):
    """Runs the real exporter on traffic.pcap towards 127.0.0.1:PORT; returns
    the number of flow records it says it sent (None: it does not say)."""
    traffic = os.path.join(DIRECTION, "traffic.pcap")
    log = os.path.join(tmp, "exporter.log")
    if name == "live-softflowd-v9":
        # As make-direction-fixtures.sh: faketime makes softflowd "boot"
        # before the traffic; with -r it reads the file only once its
        # control socket wakes it, then exports at EOF and exits.
        ctl = os.path.join(tmp, "sf.ctl")
        with open(log, "w") as lf:
            sf = subprocess.Popen(["faketime", "-f", "@2024-06-03 09:58:00 x1000", "softflowd",
                                   "-r", traffic, "-d", "-p", os.path.join(tmp, "sf.pid"),
                                   "-c", ctl, "-n", "127.0.0.1:%d" % port, "-v", "9", "-6"],
                                  stdout=lf, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while sf.poll() is None and time.monotonic() < deadline:
                subprocess.run(["softflowctl", "-c", ctl, "statistics"],
                               capture_output=True, timeout=10)
                time.sleep(0.25)
        finally:
            stop(sf)
        m = re.search(r"Flows exported: \d+ \((\d+) records\)", open(log).read())
        if sf.returncode != 0 or not m:
            raise SystemExit("softflowd failed (exit %s):\n%s" % (sf.returncode, open(log).read()))
        return int(m.group(1))
    conf = os.path.join(tmp, "pmacct.conf")
    with open(conf, "w") as f:
        f.write("daemonize: false\npcap_savefile: %s\nplugins: nfprobe\n"
                "nfprobe_receiver: 127.0.0.1:%d\nnfprobe_version: 10\nnfprobe_engine: 7\n"
                "aggregate: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags\n"
                "pidfile: %s\n" % (traffic, port, os.path.join(tmp, "pmacct.pid")))
    with open(log, "w") as lf:
        r = subprocess.run(["faketime", "-f", "@2024-06-03 10:03:00", "pmacctd", "-f", conf],
                           stdout=lf, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise SystemExit("pmacctd failed (exit %d):\n%s" % (r.returncode, open(log).read()))
    return None


def receive_live(name, tmp, flows, want_records):
    """netflowd on 127.0.0.1 (a private config) writing to FLOWS while the
    exporter runs; returns 0 or SKIP."""
    missing = [t for t in LIVE_TOOLS[name] if not shutil.which(t)]
    if missing:
        print("SKIP: not installed: " + " ".join(missing))
        return SKIP
    if not os.access(NETFLOWD, os.X_OK):
        print("SKIP: no netflowd binary at %s" % NETFLOWD)
        return SKIP
    port = nftest.free_port()
    conf = os.path.join(tmp, "netflowd.conf")
    with open(conf, "w") as f:
        f.write("[collector]\nlisten = 127.0.0.1:%d\n" % port)
    err = os.path.join(tmp, "netflowd.err")
    with open(flows, "w") as out, open(err, "w") as ef:
        daemon = subprocess.Popen([NETFLOWD, "-c", conf, "--stdout"], stdout=out, stderr=ef)
    try:
        if not nftest.wait_for(lambda: "ready" in open(err).read() or daemon.poll() is not None):
            raise SystemExit("netflowd not ready:\n" + open(err).read())
        if daemon.poll() is not None:
            raise SystemExit("netflowd exited:\n" + open(err).read())
        sent = export_live(name, tmp, port)
        want = sent if sent is not None else want_records
        if not nftest.wait_for(lambda: flow_lines(flows) >= want, timeout=15):
            raise SystemExit("netflowd wrote %d of %d flow records:\n%s" %
                             (flow_lines(flows), want, open(err).read()))
    finally:
        stop(daemon)
    return 0


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    name = sys.argv[1]
    truth = ground_truth(name in V4_ONLY)
    with tempfile.TemporaryDirectory(prefix="direction-") as tmp:
        flows = os.path.join(tmp, "flows.json")
        if name.startswith("live-"):
            r = receive_live(name, tmp, flows, 2 * len(truth))
        else:
            r = decode(os.path.join(DIRECTION, name + ".pcap"), flows)
        if r == SKIP:
            return SKIP
        base = [ANALYZER, "-n", "-m", "0", "--services", SERVICES]
        conns = [json.loads(l) for l in run(base + ["--json", flows]).splitlines()]
        text = run(base + [flows]).splitlines()
        totals = json.loads(run(base + ["--summary", "--json", flows]).splitlines()[0])

    problems = []
    seen = collections.Counter()
    by = collections.Counter()
    for c in conns:
        src, dst = norm(c["src_addr"]), norm(c["dst_addr"])
        k = key(c["proto"], src, c.get("src_port", 0), dst, c.get("dst_port", 0))
        seen[k] += 1
        by[c.get("initiator_by")] += 1
        line = "%s %s:%s -> %s:%s (%s)" % (c["service"], src, c.get("src_port", "-"), dst,
                                           c.get("dst_port", "-"), c.get("initiator_by"))
        if k not in truth:
            problems.append("not in the traffic: " + line)
        elif truth[k] != (src, c.get("src_port", 0)):
            problems.append("wrong initiator (truth %s:%s): %s" % (truth[k] + (line,)))
        elif not c["paired"]:
            problems.append("not paired: " + line)
    for k, n in seen.items():
        if n > 1:
            problems.append("%d connections for %s" % (n, sorted(k[1])))
    for k, ini in truth.items():
        if k not in seen:
            problems.append("missing: proto %d, initiator %s:%s" % (k[0], ini[0], ini[1]))

    # The text listing names the same sides in the same order.
    pat = re.compile(r"\| (\S+) \((\S+)\) to (\S+) \((\S+)\)( \[one-way\])?$")
    if len(text) != len(conns):
        problems.append("text listing has %d lines, --json %d" % (len(text), len(conns)))
    for line, c in zip(text, conns):
        m = pat.search(line)
        if not m or (norm(m.group(2)), norm(m.group(4))) != (norm(c["src_addr"]), norm(c["dst_addr"])):
            problems.append("text and --json disagree: %r vs %s -> %s" %
                            (line, c["src_addr"], c["dst_addr"]))
    paired = sum(1 for c in conns if c["paired"])
    if (totals.get("connections"), totals.get("paired")) != (len(conns), paired):
        problems.append("--summary counts %s connections, %s paired; the listing %d, %d" %
                        (totals.get("connections"), totals.get("paired"), len(conns), paired))

    print("%s: %d connections, %d in the traffic; decided by %s" %
          (name, len(conns), len(truth), dict(sorted(by.items()))))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
