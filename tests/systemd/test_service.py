#!/usr/bin/env python3
"""netflowd as a real systemd service.

Boots a real systemd as PID 1 of a private PID and mount namespace (with
private tmpfs /tmp, /run and /var, so the host's files are never touched:
a booting systemd empties /tmp, runs tmpfiles on /var and DynamicUser=
creates /var/lib/private), installs the built unit and binary under /run
inside it, and drives it with `nsenter ... systemctl` and `journalctl`.
The network namespace is the host's: the test sends NetFlow v5 to
127.0.0.1 and scrapes /metrics with curl directly.

usage: test_service.py NETFLOWD NETFLOWD_SERVICE
Needs root, unshare, nsenter, /lib/systemd/systemd, curl; exits 77 (skip)
without them.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import nfgen  # noqa: E402
import nsboot  # noqa: E402
import strictjson  # noqa: E402

SYSTEMD = nsboot.SYSTEMD
TESTDIR = "/run/netflowd-test"
CONF = TESTDIR + "/netflowd.conf"
UNITDIR = "/run/systemd/system"
STATE = "/var/lib/netflowd"
TIME_LIMIT = 240
FLOWS_PER_DATAGRAM = 10


Failure = nsboot.Failure


def log(*args):
    print(*args, flush=True)


def check(cond, what):
    if not cond:
        raise Failure(what)
    log("ok:", what)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Namespace(nsboot.Namespace):
    """A systemd booted in a private PID + mount namespace."""

    def boot(self):
        script = ("mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run && "
                  "mount -t tmpfs tmpfs /var && "
                  "exec " + SYSTEMD + " --system --unit=basic.target")
        self.start(["unshare", "--pid", "--fork", "--mount", "--mount-proc",
                    "sh", "-c", script])

    def write(self, path, data, mode="644"):
        self.run("sh", "-c", 'cat > "$1" && chmod %s "$1"' % mode, "sh", path,
                 input=data)


def config(ports, rotate, metrics_port, extra=""):
    listen = "".join("listen = 127.0.0.1:%d\n" % p for p in ports)
    return ("[collector]\n" + listen + extra +
            "[output]\ndirectory = %s\nrotate = %d\n" % (STATE, rotate) +
            "[metrics]\nlisten = 127.0.0.1:%d\n" % metrics_port +
            "[log]\nlevel = info\n")


class Sender:
    """NetFlow v5 datagrams, each flow marked with a unique (datagram,
    record) pair in its ports, so the output can be checked for loss and
    duplicates."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.next = 0
        self.sent = {}          # port -> datagrams

    def send(self, port, n, pace=0.0):
        for _ in range(n):
            i = self.next
            self.next += 1
            flows = [dict(src="192.0.2.1", dst="198.51.100.%d" % (1 + i % 250),
                          sport=1 + i // 1000, dport=(i % 1000) * 10 + r,
                          proto=17, packets=1, bytes=100,
                          first=99000, last=99500)
                     for r in range(FLOWS_PER_DATAGRAM)]
            self.sock.sendto(nfgen.v5(flows, secs=int(time.time()),
                                      sequence=i * FLOWS_PER_DATAGRAM),
                             ("127.0.0.1", port))
            self.sent[port] = self.sent.get(port, 0) + 1
            if pace:
                time.sleep(pace)

    def expected(self):
        return {(1 + i // 1000, (i % 1000) * 10 + r)
                for i in range(self.next) for r in range(FLOWS_PER_DATAGRAM)}


def scrape(port):
    r = subprocess.run(["curl", "-sf", "--max-time", "5",
                        "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Failure("curl /metrics failed: exit %d" % r.returncode)
    values = {}
    for line in r.stdout.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def wait_for(what, predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            log("ok:", what)
            return
        time.sleep(0.2)
    raise Failure("timed out waiting for: " + what)


def metric(port, name):
    return scrape(port).get(name, 0)


def output_flows(ns):
    """(sport, dport) of every flow in the published files; names."""
    names = ns.run("ls", "-a", STATE).stdout.split()
    flows = []
    for name in names:
        if not name.endswith(".json"):
            continue
        for line in ns.run("cat", STATE + "/" + name).stdout.splitlines():
            rec = strictjson.loads(line)
            flows.append((rec["src_port"], rec["dst_port"]))
    return names, flows


def install(ns, netflowd, unit, ports, mport):
    ns.run("mkdir", "-p", TESTDIR, UNITDIR + "/netflowd.service.d")
    ns.run("chmod", "755", TESTDIR)
    with open(netflowd, "rb") as f:
        ns.write(TESTDIR + "/netflowd", f.read(), mode="755")
    # the unit as built, its ExecStart= and ExecReload= lines included,
    # with the built binary where it names the installed one
    with open(unit) as f:
        text = f.read()
    binary = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    ns.write(UNITDIR + "/netflowd.service", text.replace(binary, TESTDIR + "/netflowd"))
    # a private config (the unit's one place for its path: NETFLOWD_CONFIG);
    # ConfigurationDirectory= would create /etc/netflowd on the host (/etc
    # is not private); a short watchdog keeps the test fast; no core file
    # in the state directory
    ns.write(UNITDIR + "/netflowd.service.d/test.conf",
             "[Service]\nEnvironment=NETFLOWD_CONFIG=%s\n"
             "ConfigurationDirectory=\nWatchdogSec=3\nLimitCORE=0\n"
             "RestartSec=1\n" % CONF)
    ns.write(CONF, config(ports, 2, mport))
    ns.run("systemctl", "daemon-reload")
    r = ns.run("systemd-analyze", "verify", "--man=no",
               UNITDIR + "/netflowd.service", check=False)
    check(r.returncode == 0 and r.stderr.strip() == "",
          "systemd-analyze verify is clean (%s)" % r.stderr.strip())


def test_start(ns, sender, p1, mport):
    ns.run("systemctl", "start", "netflowd.service", timeout=30)
    st = ns.show("ActiveState", "SubState", "StatusText", "MainPID", "Type")
    check(st["ActiveState"] == "active" and st["SubState"] == "running",
          "systemctl start: active (running)")
    check("listeners" in st["StatusText"],
          "STATUS= set by netflowd: " + st["StatusText"])
    # Type=notify: systemd says Started only after READY=1, which netflowd
    # sends after binding and opening the output
    lines = ns.journal("-o", "cat").splitlines()
    ready = [i for i, l in enumerate(lines) if "netflowd ready" in l]
    listening = [i for i, l in enumerate(lines) if "listening on udp" in l]
    started = [i for i, l in enumerate(lines) if l.startswith("Started ")]
    check(ready and started and listening and
          listening[0] < ready[0] < started[0],
          "listeners bound, then READY, then systemd's Started")
    # bound at once: nothing sent right after start is lost
    sender.send(p1, 50)
    wait_for("50 datagrams on the first listener",
             lambda: metric(mport, 'netflowd_datagrams_total'
                            '{listener="127.0.0.1:%d"}' % p1) == 50)
    m = scrape(mport)
    check(m.get('netflowd_flows_total{exporter="127.0.0.1"}') == 500,
          "/metrics: 500 flows from exporter 127.0.0.1")
    check(m.get('netflowd_exporter_datagrams_total{exporter="127.0.0.1"}')
          == 50, "/metrics: 50 datagrams from exporter 127.0.0.1")
    check(m.get("netflowd_kernel_drops_total") == 0, "/metrics: no kernel drops")
    check(m.get("netflowd_receive_queue_size_bytes") == 64 << 20,
          "/metrics: the default receive queue, 64 MiB")
    # the unit lets the receive thread raise its priority (RLIMIT_NICE),
    # and only it
    check(ns.show("LimitNICE")["LimitNICE"] == "30", "unit: LimitNICE=-10")
    pid = st["MainPID"]
    threads = ns.run("sh", "-c", 'for t in /proc/%s/task/*; do '
                     'echo "$(cat $t/comm)|$(cut -d" " -f19 $t/stat)"; done'
                     % pid).stdout.split()
    nice = dict(t.split("|") for t in threads)
    limits = ns.run("cat", "/proc/%s/limits" % pid).stdout
    granted = re.search(r"^Max nice priority\s+(\d+)", limits, re.M)
    if granted and int(granted.group(1)) >= 30:
        check(nice.get("netflowd/rx") == "-10" and nice.get("netflowd") == "0",
              "receive thread at nice -10, the loop at 0: %s" % nice)
        check("receive thread at nice -10" in ns.journal("-o", "cat"),
              "journal: receive thread at nice -10")
    else:
        # systemd could not raise the limit: it lacks CAP_SYS_RESOURCE,
        # as in some containers; netflowd says so and runs on
        log("note: RLIMIT_NICE not raised by this systemd (no "
            "CAP_SYS_RESOURCE?)")
        check(nice.get("netflowd/rx") == "0" and
              "nice -10 refused" in ns.journal("-o", "cat"),
              "receive thread at nice 0, and the journal says why")


def test_reload(ns, sender, p1, p2, mport):
    before = metric(mport, 'netflowd_reloads_total{result="ok"}')
    stop = threading.Event()
    count0 = sender.sent[p1]

    def keep_sending():
        while not stop.is_set():
            sender.send(p1, 1, pace=0.002)
    t = threading.Thread(target=keep_sending)
    t.start()
    try:
        time.sleep(0.5)
        # a new receive queue size: the receive thread stops and starts
        # again while datagrams arrive
        ns.write(CONF, config([p1, p2], 3, mport, "receive_queue = 8M\n"))
        ns.run("systemctl", "reload", "netflowd.service", timeout=30)
        wait_for("reload done",
                 lambda: metric(mport, 'netflowd_reloads_total{result="ok"}')
                 == before + 1)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join()
    log("sent %d datagrams to port %d across the reload"
        % (sender.sent[p1] - count0, p1))
    sender.send(p2, 20)
    wait_for("every datagram of the first listener counted",
             lambda: metric(mport, 'netflowd_datagrams_total'
                            '{listener="127.0.0.1:%d"}' % p1) == sender.sent[p1])
    wait_for("the new listener receives",
             lambda: metric(mport, 'netflowd_datagrams_total'
                            '{listener="127.0.0.1:%d"}' % p2) == 20)
    st = ns.show("ActiveState", "StatusText")
    check(st["ActiveState"] == "active" and "2 listeners" in st["StatusText"],
          "after reload: " + st["StatusText"])
    check(metric(mport, "netflowd_receive_queue_size_bytes") == 8 << 20,
          "/metrics: the receive queue resized to 8 MiB")
    wait_for("output switched to the new rotation at a slot boundary",
             lambda: "rotation every 3 s" in ns.journal("-o", "cat"))


def test_bad_reload(ns, sender, p1, p2, mport):
    good = config([p1, p2], 3, mport)
    ok = metric(mport, 'netflowd_reloads_total{result="ok"}')
    # issue 25 item 7: `systemctl reload` checks the file first (ExecReload=
    # netflowd -n) and fails visibly, naming every error; netflowd is not
    # signalled and the old config keeps running
    ns.write(CONF, good.replace("[output]\n", "bogus = 1\n[output]\n")
             .replace("rotate = 3\n", "rotate = soon\n"))
    r = ns.run("systemctl", "reload", "netflowd.service", check=False, timeout=30)
    check(r.returncode != 0, "systemctl reload of a bad file fails (exit %d: %s)"
          % (r.returncode, r.stderr.strip()))
    text = ns.journal("-o", "cat")
    for msg in ("%s:4: unknown key 'bogus' in [collector]" % CONF,
                "%s:7: bad duration 'soon'" % CONF):
        check(msg in text, "the journal names every error: " + msg)
    st = ns.show("ActiveState", "SubState", "StatusText")
    check(st["ActiveState"] == "active" and st["SubState"] == "running"
          and "reload failed" not in st["StatusText"],
          "the service runs on, never asked to reload: " + st["StatusText"])
    check(metric(mport, 'netflowd_reloads_total{result="ok"}') == ok and
          metric(mport, 'netflowd_reloads_total{result="failed"}') == 0,
          "netflowd was not signalled")
    before = metric(mport, 'netflowd_datagrams_total{listener="127.0.0.1:%d"}' % p2)
    sender.send(p2, 5)
    wait_for("the old config's listeners still receive",
             lambda: metric(mport, 'netflowd_datagrams_total{listener="127.0.0.1:%d"}'
                            % p2) == before + 5)
    # a SIGHUP that bypasses the check (kill -HUP): netflowd refuses the
    # file itself, says so in STATUS= and the journal, and keeps running
    ns.write(CONF, good.replace("[output]\n", "bogus = 1\n[output]\n"))
    ns.run("systemctl", "kill", "-s", "HUP", "--kill-who=main", "netflowd.service",
           timeout=30)
    wait_for("failed reload counted",
             lambda: metric(mport, 'netflowd_reloads_total{result="failed"}')
             == 1)
    st = ns.show("ActiveState", "SubState", "StatusText")
    check(st["ActiveState"] == "active" and st["SubState"] == "running",
          "a bad config leaves the service active (running)")
    check("reload failed" in st["StatusText"] and
          "netflowd.conf:4: unknown key 'bogus'" in st["StatusText"],
          "STATUS says the reload failed: " + st["StatusText"])
    msg = "%s:4: unknown key 'bogus' in [collector]" % CONF
    check(msg in ns.journal("-o", "cat"), "journal shows " + msg)
    ns.write(CONF, good)
    ns.run("systemctl", "reload", "netflowd.service", timeout=30)
    wait_for("good config reloaded",
             lambda: "reload failed" not in ns.show("StatusText")["StatusText"])


def test_journal_fields(ns, p1, p2):
    # a datagram of an unknown version is a drop, logged with its reason
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"\x00\x63" + b"\x00" * 30, ("127.0.0.1", p1))
    s.close()

    def drop_logged():
        out = ns.journal("-o", "json", "EXPORTER=127.0.0.1")
        return any(json.loads(l).get("DROP_REASON") for l in out.splitlines())
    wait_for("journalctl -u netflowd EXPORTER=127.0.0.1 finds the drop with "
             "DROP_REASON=", drop_logged)
    out = ns.journal("-o", "json", "LISTENER=127.0.0.1:%d" % p2)
    entries = [json.loads(l) for l in out.splitlines()]
    check(any("listening on udp" in e["MESSAGE"] and e["PRIORITY"] == "6"
              for e in entries),
          "journalctl LISTENER=127.0.0.1:%d with PRIORITY=6" % p2)


def test_watchdog(ns, sender, p1):
    sender.send(p1, 10)
    time.sleep(2.5)     # flushed by the 1 s tick before the hang
    old = ns.show("MainPID")["MainPID"]
    ns.run("kill", "-STOP", old)
    log("stopped main pid", old)

    def restarted():
        st = ns.show("MainPID", "ActiveState", "SubState", "NRestarts")
        return (st["MainPID"] not in ("0", old) and st["ActiveState"] == "active"
                and st["SubState"] == "running")
    wait_for("watchdog killed the hung netflowd and systemd restarted it",
             restarted, timeout=30)
    check("Watchdog timeout" in ns.journal("-o", "cat"),
          "journal shows the watchdog timeout")


def test_stop(ns, sender, p1, p2):
    sender.send(p1, 10)
    sender.send(p2, 10)
    time.sleep(0.5)
    ns.run("systemctl", "stop", "netflowd.service", timeout=60)
    check(ns.show("ActiveState")["ActiveState"] == "inactive",
          "systemctl stop: inactive")
    names, flows = output_flows(ns)
    hidden = [n for n in names if n.startswith(".") and n not in (".", "..")]
    check(not hidden, "no temporary file left: %s" % hidden)
    pattern = re.compile(r"^\d{8}T\d{6}Z(-\d+)?\.json$")
    check(names and all(pattern.match(n) for n in names
                        if n not in (".", "..")),
          "%d files, all named YYYYMMDDTHHMMSSZ.json" % (len(names) - 2))
    expected = sender.expected()
    check(len(flows) == len(set(flows)), "no flow written twice")
    missing = expected - set(flows)
    check(not missing, "every flow sent is in the files (%d flows, %d "
          "missing)" % (len(expected), len(missing)))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    netflowd, unit = sys.argv[1:]
    if os.geteuid() != 0:
        log("SKIP: needs root")
        return 77
    # it reads structured journal fields (EXPORTER=, DROP_REASON=)
    if "systemd" not in os.environ.get("NETFLOWD_FEATURES", "systemd").split(","):
        log("SKIP: netflowd built without libsystemd")
        return 77
    for tool in ("unshare", "nsenter", "pgrep", "curl"):
        if shutil.which(tool) is None:
            log("SKIP: %s not installed" % tool)
            return 77
    if not os.access(SYSTEMD, os.X_OK):
        log("SKIP: no " + SYSTEMD)
        return 77

    def too_slow(signum, frame):
        raise Failure("time limit of %d s exceeded" % TIME_LIMIT)
    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(TIME_LIMIT)
    ns = Namespace()
    p1, p2, mport = free_port(), free_port(), free_port(socket.SOCK_STREAM)
    sender = Sender()
    try:
        ns.boot()
        install(ns, netflowd, unit, [p1], mport)
        test_start(ns, sender, p1, mport)
        test_reload(ns, sender, p1, p2, mport)
        test_bad_reload(ns, sender, p1, p2, mport)
        test_journal_fields(ns, p1, p2)
        test_watchdog(ns, sender, p1)
        test_stop(ns, sender, p1, p2)
        log("PASS")
        return 0
    except (Failure, subprocess.TimeoutExpired) as e:
        log("FAIL:", e)
        if ns.pid is not None:
            try:
                log(ns.journal("-o", "short-monotonic", "-n", "60"))
            except Exception:
                pass
        return 1
    finally:
        signal.alarm(0)
        ns.shutdown()


if __name__ == "__main__":
    sys.exit(main())
