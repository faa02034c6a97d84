#!/usr/bin/env python3
"""netflowd -n: exit 0 and the effective settings for a good file (the
shipped example included), exit 1 and "file:line: message" for a bad one.

usage: test_check.py NETFLOWD SHIPPED_EXAMPLE"""
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import nftest  # noqa: E402

NETFLOWD, EXAMPLE = os.path.abspath(sys.argv[1]), sys.argv[2]
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed += 1


def run(*args):
    return subprocess.run([NETFLOWD, *args], capture_output=True, text=True,
                          timeout=10)


r = run("-n", "-c", EXAMPLE)
check(r.returncode == 0, "shipped example passes -n: %r" % r.stderr)
check("listen = *:2055\nlisten = *:4739\nlisten = *:6343\n" in r.stdout and
      "directory = /var/lib/netflowd" in r.stdout and
      "[metrics]\nlisten = off" in r.stdout,
      "shipped example's effective settings: %r" % r.stdout)

with tempfile.TemporaryDirectory() as tmp:
    def conf(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    good = conf("good.conf", "[collector]\nlisten = 127.0.0.1:2055\n"
                "receive_buffer = 4M\nreceive_queue = 1M\n"
                "[output]\nrotate = 2m\n"
                "[metrics]\nlisten = 127.0.0.1:9477\n")
    r = run("-n", "-c", good)
    check(r.returncode == 0 and r.stderr == "", "good file: exit 0, quiet")
    check("receive_buffer = 4M\n" in r.stdout and "rotate = 2m\n" in r.stdout
          and "receive_queue = 1M\n" in r.stdout
          and "listen = 127.0.0.1:9477" in r.stdout,
          "sizes and durations printed in the units the file used: %r" % r.stdout)
    # issue 23 item 6: as written (4096K stays 4096K, 300s stays 300s);
    # defaults and command-line values in the largest unit that divides them
    units = conf("units.conf", "[collector]\nlisten = 127.0.0.1:2055\n"
                 "receive_buffer = 4096K\nheld_data = 1048577\n"
                 "[output]\nrotate = 300s\n")
    r = run("-n", "-c", units)
    check(r.returncode == 0 and "receive_buffer = 4096K\n" in r.stdout and
          "held_data = 1048577\n" in r.stdout and "rotate = 300s\n" in r.stdout and
          "receive_queue = 64M\n" in r.stdout,
          "sizes and durations as written, defaults in units: %r" % r.stdout)
    r = run("-n", "-c", units, "-r", "7200")
    check("rotate = 2h\n" in r.stdout, "-r 7200 printed as 2h: %r" % r.stdout)
    r = run("-n", "-c", good, "-o", "/srv/flows", "-r", "30s", "-p", "9000")
    check(r.returncode == 0 and "directory = /srv/flows" in r.stdout and
          "rotate = 30s\n" in r.stdout and "listen = *:9000" in r.stdout,
          "command line overrides the file")
    for name, text, line, msg in [
        ("key.conf", "[collector]\nlisten = 2055\n\nbogus = 1\n", 4,
         "unknown key 'bogus' in [collector]"),
        ("section.conf", "[output]\nrotate = 60\n[kafk]\n", 3,
         "unknown section [kafk]"),
        ("size.conf", "[collector]\nreceive_buffer = lots\n", 2,
         "bad size 'lots' (e.g. 16M, from 4K to 1G)"),
        ("compress.conf", "[output]\ncompress = bzip2\n", 2,
         "bad compress 'bzip2' (none, gzip, zstd or lz4)"),
    ]:
        p = conf(name, text)
        r = run("-n", "-c", p)
        check(r.returncode == 1 and r.stdout == "",
              "%s: exit 1, nothing printed" % name)
        check("%s:%d: %s" % (p, line, msg) in r.stderr,
              "%s: %r" % (name, r.stderr.strip()))
    r = run("-n", "-c", os.path.join(tmp, "missing.conf"))
    check(r.returncode == 1 and "missing.conf: No such file or directory"
          in r.stderr, "missing file: exit 1")
    unreadable = conf("dir.conf", "")
    os.remove(unreadable)
    os.mkdir(unreadable)
    r = run("-n", "-c", unreadable)
    check(r.returncode == 1, "a directory as config: exit 1 (%r)" % r.stderr)

    # issue 13 item 11: an empty or cut-off file, an empty -o, binary bytes
    empty = conf("empty.conf", "")
    r = run("-n", "-c", empty)
    check(r.returncode == 1 and "no [section] at all" in r.stderr,
          "empty file: exit 1 (%r)" % r.stderr)
    cut = conf("cut.conf", "[collector]\n")
    r = run("-n", "-c", cut)
    check(r.returncode == 0 and "no listen address set: listening on the "
          "defaults *:2055 and *:4739 (every address)" in r.stderr,
          "section only: the defaults, with a warning (%r)" % r.stderr)
    r = run("-n", "-c", cut, "-p", "9000")
    check(r.returncode == 0 and r.stderr == "", "section only and -p: no warning")
    r = run("-n", "-c", good, "-o", "")
    check(r.returncode == 1 and r.stdout == "" and "-o: empty directory" in r.stderr,
          "-n -o '': exit 1 (%r)" % r.stderr)
    r = run("-o", "", "-p", "9000")
    check(r.returncode == 1 and "-o: empty directory" in r.stderr,
          "-o '': refused at start (%r)" % r.stderr)
    binary = os.path.join(tmp, "binary.conf")
    with open(binary, "wb") as f:
        f.write(b"[output]\ncompress = \x1b[31m\xff\n")
    r = subprocess.run([NETFLOWD, "-n", "-c", binary], capture_output=True, timeout=10)
    check(r.returncode == 1 and b"\x1b" not in r.stderr and b"\xff" not in r.stderr
          and b"control character 0x1b at column 12" in r.stderr,
          "binary bytes escaped in the error (%r)" % r.stderr)

    # issue 25 item 7: every error of the file, one a line with file:line
    several = conf("several.conf", "[collector]\nlisten = 127.0.0.1:0\n"
                   "bogus = 1\n[output]\nrotate = forever\ncompress = bzip2\n"
                   "[logg]\nlevel = info\n[log]\nlevel = loud\n")
    r = run("-n", "-c", several)
    want = ["%s:%d: %s" % (several, n, m) for n, m in [
        (2, "bad port in listen address '127.0.0.1:0'"),
        (3, "unknown key 'bogus' in [collector]"),
        (5, "bad duration 'forever' (e.g. 60, 90s, 5m, 1h; at most 7 days)"),
        (6, "bad compress 'bzip2' (none, gzip, zstd or lz4)"),
        (7, "unknown section [logg]"),
        (10, "bad log level 'loud' (err, warning, notice, info, debug)")]]
    got = [l[3:] if l.startswith("<3>") else l for l in r.stderr.splitlines()]
    check(r.returncode == 1 and r.stdout == "" and got == want,
          "several errors: each on a line of its own, in file order: %r" % r.stderr)

    # issue 23 item 6: an address in use is named with the file:line that
    # asked for it, at start and at a reload
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        free = nftest.free_port()
        inuse = conf("inuse.conf", "[collector]\nlisten = [::1]:%d\n# the taken one:\n"
                     "listen = 127.0.0.1:%d\n[output]\ndirectory = %s\n"
                     % (free, port, os.path.join(tmp, "flows")))
        r = run("-c", inuse)
        want = "%s:4: cannot listen on 127.0.0.1:%d: Address already in use" % (inuse, port)
        check(r.returncode == 1 and want in r.stderr,
              "address in use at start names file:line: %r" % r.stderr)
        d = nftest.Daemon(NETFLOWD, "[collector]\nlisten = [::1]:%d\n[output]\n"
                          "directory = @OUT@\n" % free)
        try:
            d.start()
            with open(d.config, "a") as f:
                f.write("[metrics]\nlisten = off\n[collector]\nlisten = 127.0.0.1:%d\n" % port)
            d.signal(signal.SIGHUP)
            want = "reload failed, configuration unchanged: %s:8: cannot listen on " \
                "127.0.0.1:%d: Address already in use" % (d.config, port)
            check(nftest.wait_for(lambda: want in d.log(), timeout=10),
                  "address in use at a reload names file:line: %r" % d.log())
            check(d.alive(), "the old config keeps running")
            check(d.stop() == 0, "exit 0 on SIGTERM")
        finally:
            d.cleanup()

sys.exit(1 if failed else 0)
