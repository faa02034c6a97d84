#!/usr/bin/env python3
"""Command line: -V, -n with good and bad files, --stdout, -p PORT -D."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402
import strictjson  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("cli")


def run(*args):
    return subprocess.run([NETFLOWD, *args], capture_output=True, text=True, timeout=10)


r = run("-V")
check(r.returncode == 0 and r.stdout.startswith("netflowd "), "-V: %r" % r.stdout)
with tempfile.TemporaryDirectory() as tmp:
    good = os.path.join(tmp, "good.conf")
    with open(good, "w") as f:
        f.write("[collector]\nlisten = 127.0.0.1:2055\nlisten = [::1]:4739\n"
                "[output]\ndirectory = /tmp/x\nrotate = 5m\n")
    r = run("-n", "-c", good)
    check(r.returncode == 0, "-n good file exits 0: %r" % r.stderr)
    check("listen = 127.0.0.1:2055" in r.stdout and "rotate = 5m\n" in r.stdout,
          "-n prints effective settings: %r" % r.stdout)
    r = run("-n", "-c", good, "-p", "9000", "-r", "10")
    check("listen = *:9000" in r.stdout and "127.0.0.1:2055" not in r.stdout
          and "rotate = 10s\n" in r.stdout, "flags override the file: %r" % r.stdout)
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[collector]\nlisten = 127.0.0.1:2055\n\n[output]\nrotate = soon\n")
    r = run("-n", "-c", bad)
    check(r.returncode == 1, "-n bad file exits 1")
    check("%s:5: bad duration 'soon'" % bad in r.stderr, "file:line error: %r" % r.stderr)
    r = run("-n", "-c", os.path.join(tmp, "missing.conf"))
    check(r.returncode == 1 and "No such file" in r.stderr, "missing file: %r" % r.stderr)
if "pcap" not in os.environ.get("NETFLOWD_FEATURES", "pcap").split(","):
    r = run("--read", "x.pcap", "--stdout")
    check(r.returncode == 1 and "x.pcap: netflowd was built without pcap" in r.stderr,
          "--read without pcap: a clear error: %r" % r.stderr)
r = run("-p", "0")
check(r.returncode != 0 and "bad port" in r.stderr, "-p 0 rejected: %r" % r.stderr)
r = run("--bogus")
check(r.returncode == 2 and "usage" in r.stderr, "unknown option -> usage, exit 2")

# --stdout with -p PORT -D: the classic invocation, lines on stdout
port = nftest.free_port()
with tempfile.TemporaryDirectory() as tmp:
    notify = os.path.join(tmp, "n.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(notify)
    ns.settimeout(10)
    p = subprocess.Popen([NETFLOWD, "-p", str(port), "-D", "--stdout"], cwd=tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, NOTIFY_SOCKET=notify))
    try:
        check("READY=1" in ns.recv(4096).decode(), "ready")
        # one socket: one exporter session (address and source port)
        nftest.send([nfgen.v5([nfgen.flow(i) for i in range(5)], sequence=42),
                     nfgen.v5([nfgen.flow(i) for i in range(5)], sequence=50)], port)
        time.sleep(0.3)
        p.terminate()
        out, err = p.communicate(timeout=10)
        lines = strictjson.lines(out, "--stdout")
        check(len(lines) == 10 and all(x["version"] == 5 for x in lines),
              "10 JSON lines on stdout: %r" % out[:200])
        check("version 5 domain 0 sequence 42: 5 records, 0 lost" in err, "-D logs the packet: %r" % err)
        check("version 5 domain 0 sequence 50: 5 records, 3 lost" in err, "-D logs the loss: %r" % err)
        check(not os.path.exists(os.path.join(tmp, "flows")) or not os.listdir(os.path.join(tmp, "flows")),
              "--stdout writes no files")
        check(p.returncode == 0, "exit 0")
    finally:
        if p.poll() is None:
            p.kill()
        ns.close()
check.done()
