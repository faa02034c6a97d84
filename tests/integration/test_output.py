#!/usr/bin/env python3
"""The output side of issues 13 and 15, with the real daemon:
- `-o` naming a file (executable or not) or "" is a clear start-up error;
- the output directory removed while running is made again, nothing lost;
- --stdout into a closed pipe: logged, counted, netflowd exits 1;
- --stdout into a reader that never reads: SIGTERM still returns;
- compressed files (zstd, gzip, lz4) written across 1 s rotations while
  flows arrive are valid for the standard tools and hold every record
  exactly once.
No timing is asserted: every wait is a bound."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import nfgen  # noqa: E402
import nftest  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
check = nftest.Check("output")

CONF = """[collector]
listen = 127.0.0.1:%d
receive_buffer = 32M
[output]
directory = @OUT@
rotate = 1
%s
"""


def run_fail(args):
    """netflowd that must refuse to start: (exit code, stderr)."""
    p = subprocess.run([NETFLOWD] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr.decode(errors="replace")


def bad_directories():
    tmp = tempfile.mkdtemp(prefix="netflowd-test-")
    try:
        for mode in (0o755, 0o644):
            path = os.path.join(tmp, "file-%o" % mode)
            with open(path, "w"):
                pass
            os.chmod(path, mode)
            rc, err = run_fail(["-p", str(nftest.free_port()), "-o", path])
            check(rc != 0, "-o a file (mode %o): exit %d" % (mode, rc))
            check("not a directory" in err,
                  "-o a file (mode %o) says so: %r" % (mode, err[-300:]))
        rc, err = run_fail(["-p", str(nftest.free_port()), "-o", ""])
        check(rc != 0 and "empty" in err, '-o "": %d %r' % (rc, err[-300:]))
        check("AddressSanitizer" not in err, '-o "": no overflow')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def send_flows(port, first, n, per=30, pace=0.0):
    dgrams = []
    for i in range(first, first + n, per):
        dgrams.append(nfgen.v5([nfgen.flow(j) for j in range(i, min(i + per, first + n))]))
    nftest.send(dgrams, port, pace=pace)


def flow_id(r):
    a = [int(x) for x in r["src_addr"].split(".")]
    return a[1] << 16 | a[2] << 8 | a[3]


def decompress(path):
    tools = {".zst": ["zstd", "-dcq"], ".gz": ["gzip", "-dc"], ".lz4": ["lz4", "-dcq"]}
    ext = os.path.splitext(path)[1]
    if ext not in tools:
        with open(path, "rb") as f:
            return f.read()
    test = subprocess.run(tools[ext][:1] + ["-tq", path] if ext != ".gz" else ["gzip", "-t", path],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    check(test.returncode == 0, "%s -t %s: %s" % (tools[ext][0], path, test.stderr[-200:]))
    with open(path, "rb") as f:
        p = subprocess.run(tools[ext], stdin=f, stdout=subprocess.PIPE)
    check(p.returncode == 0, "%s reads %s" % (tools[ext][0], path))
    return p.stdout


def ids_in(d):
    ids = []
    for name in d.files():
        if name.startswith("."):
            check(False, "left behind: %s" % name)
            continue
        for line in decompress(os.path.join(d.outdir, name)).splitlines():
            ids.append(flow_id(json.loads(line)))
    return ids


def stats_value(log, pattern):
    m = re.findall(pattern, log)
    return int(m[-1]) if m else None


def dir_removed():
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, CONF % (port, "compress = gzip"))
    try:
        d.start()
        send_flows(port, 0, 3000, pace=0.001)
        nftest.wait_for(lambda: any(not f.startswith(".") for f in d.files()), 10)
        shutil.rmtree(d.outdir)
        send_flows(port, 3000, 3000, pace=0.001)
        check(nftest.wait_for(lambda: os.path.isdir(d.outdir), 10),
              "directory made again")
        time.sleep(1.5)
        check(d.stop() == 0, "exit 0")
        log = d.log()
        check("created it again" in log, "logged: %r" % log[-500:])
        ids = ids_in(d)
        # the first files went with the directory; the rest are all there
        check(len(ids) == len(set(ids)), "no record twice")
        check(set(range(3000, 6000)) <= set(ids),
              "records after the removal all written (%d)" % len(set(ids) & set(range(3000, 6000))))
    finally:
        d.cleanup()


def stdout_daemon():
    """netflowd --stdout into a pipe: (daemon, port, read end)."""
    port = nftest.free_port()
    r, w = os.pipe()
    d = nftest.Daemon(NETFLOWD, None, args=["-p", str(port), "--stdout"], stdout=w)
    try:
        d.start()
    finally:
        os.close(w)
    return d, port, r


def stdout_closed():
    d, port, r = stdout_daemon()
    os.close(r)
    try:
        for i in range(20):
            send_flows(port, i * 300, 300)
            if not d.alive():
                break
            time.sleep(0.2)
        check(nftest.wait_for(lambda: not d.alive(), 15), "netflowd exits")
        rc = d.proc.wait(5) if not d.alive() else None
        check(rc == 1, "exit status 1 (%r)" % rc)
        log = d.log()
        check("standard output: Broken pipe" in log, "EPIPE logged: %r" % log[-500:])
        check(log.count("Broken pipe") == 1, "logged once")
        check("standard output was closed: exiting" in log, "exit logged")
        check(re.search(r"pipe_closed [1-9]", log) is not None, "counted in stats")
    finally:
        d.cleanup()


def stdout_stalled():
    d, port, r = stdout_daemon()
    try:
        # far more than a pipe holds; nobody reads
        send_flows(port, 0, 60000, pace=0.0002)
        time.sleep(1.5)
        try:
            rc = d.stop(timeout=30)
            check(rc == 0, "SIGTERM: exit 0 (%r)" % rc)
        except RuntimeError as e:
            check(False, str(e))
        log = d.log()
        check("giving up" in log, "the give-up logged: %r" % log[-500:])
        # (the count itself is logged after the exit stats, which are
        # taken before the output is closed: issue 13 item 12)
        os.close(r)
    finally:
        d.cleanup()


def compressed_under_load(kind):
    port = nftest.free_port()
    d = nftest.Daemon(NETFLOWD, CONF % (port, "compress = %s\nthreads = 2" % kind))
    try:
        d.start()
        sent = 0
        t_end = time.time() + 3.5
        while time.time() < t_end:
            send_flows(port, sent, 3000)
            sent += 3000
        time.sleep(1.2)
        check(d.stop() == 0, "%s: exit 0" % kind)
        log = d.log()
        ids = ids_in(d)
        ext = {"zstd": ".json.zst", "gzip": ".json.gz", "lz4": ".json.lz4"}[kind]
        files = d.files()
        check(len(files) >= 3 and all(f.endswith(ext) for f in files),
              "%s: several %s files: %r" % (kind, ext, files))
        check(len(ids) == len(set(ids)), "%s: no record twice" % kind)
        check(all(0 <= i < sent for i in ids), "%s: only records sent" % kind)
        decoded = stats_value(log, r"stats: \d+ datagrams, \d+ bytes, (\d+) records")
        lost = stats_value(log, r"stats: output: (\d+) records lost")
        check(decoded is not None and lost is not None and len(ids) == decoded - lost,
              "%s: every record decoded is in a file or counted lost "
              "(%d in files, %r decoded, %r lost, %d sent)" % (kind, len(ids), decoded, lost, sent))
    finally:
        d.cleanup()


def available(kind):
    """Built in (netflowd -n accepts it) and its standard tool installed."""
    p = subprocess.run([NETFLOWD, "-n", "-c", "/dev/stdin"],
                       input=("[collector]\nlisten = 127.0.0.1:9\n[output]\n"
                              "compress = %s\n" % kind).encode(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if p.returncode != 0:
        print("SKIP %s: not built in" % kind, file=sys.stderr)
    return p.returncode == 0 and shutil.which(kind) is not None


bad_directories()
dir_removed()
stdout_closed()
stdout_stalled()
for kind in ["zstd", "gzip", "lz4"]:
    if available(kind):
        compressed_under_load(kind)
check.done()
