#!/usr/bin/env python3
"""The Debian packages, built and used as an operator would.

1. `git archive HEAD` of the checkout into a temporary directory, and
   `dpkg-buildpackage -us -uc -b` there (with its build-time tests); a
   second copy with a higher version in debian/changelog and a changed
   shipped config, built with DEB_BUILD_OPTIONS=nocheck: the upgrade.
2. lintian on the first build's packages and on the source package
   (dpkg-source -b of another copy): no error, no warning (an override
   would live in debian/*.lintian-overrides, with its reason).
3. A real systemd booted as PID 1 of private PID, mount and network
   namespaces whose root is an overlay of / with a tmpfs upper layer, and
   private tmpfs /tmp and /run: `dpkg -i` there installs for real (dpkg's
   database, /etc, /usr, /var/lib), yet nothing reaches this machine's
   filesystem, and every write vanishes with the namespace. The network
   namespace has only its loopback, so the shipped config's ports (2055,
   4739, 6343) are free whatever runs on this machine.
   In it: install (the service enabled, active, running as a dynamic
   user, receiving a real exporter's capture), edit the config and
   `systemctl reload`, upgrade (dpkg --force-confold: the edit survives,
   the new shipped file lands as .dpkg-dist, the service restarted and
   the old process' flows published), remove (stopped, state and config
   kept), purge (state, config and enablement gone).

usage: test_package.py SOURCE_DIR
Needs root, git, dpkg-buildpackage, debhelper, lintian, unshare, nsenter,
mount with overlayfs, /lib/systemd/systemd, ip, curl; exits 77 (skip)
without them. The build dependencies missing is a failure (debian/control
and .ci/install-deps must agree).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nsboot  # noqa: E402
import pcaputil  # noqa: E402
import strictjson  # noqa: E402

SYSTEMD = nsboot.SYSTEMD
TIME_LIMIT = 900
INSIDE = "/run/pkgtest"          # the work directory, inside the namespace
CONF = "/etc/netflowd/netflowd.conf"
STATE = "/var/lib/netflowd"
METRICS_PORT = 9477              # the shipped config's commented example
UPGRADE_SUFFIX = "+pkgtest1"
CONF_MARK = "# (the upgrade's shipped config: changed by the package test)\n"
FILE_NAME = re.compile(r"^\d{8}T\d{6}Z(-\d+)?\.json$")


Failure = nsboot.Failure


class Skip(Exception):
    pass


def log(*args):
    print(*args, flush=True)


def check(cond, what):
    if not cond:
        raise Failure(what)
    log("ok:", what)


def wait_for(what, predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            log("ok:", what)
            return
        time.sleep(0.2)
    raise Failure("timed out waiting for: " + what)


def run(args, cwd=None, env=None, logfile=None, timeout=600):
    """Runs a build step; its output goes to logfile, whose tail is shown
    when it fails."""
    with open(logfile, "wb") as out:
        r = subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=out, stderr=subprocess.STDOUT,
                           timeout=timeout)
    if r.returncode != 0:
        with open(logfile, errors="replace") as f:
            tail = f.read()[-30000:]
        raise Failure("%s: exit %d (log %s):\n%s" % (" ".join(args),
                                                     r.returncode, logfile,
                                                     tail))


# -- building ---------------------------------------------------------------

def changelog_version(tree):
    with open(os.path.join(tree, "debian", "changelog")) as f:
        first = f.readline()
    m = re.match(r"^netflowd \(([^)]+)\) ", first)
    if not m:
        raise Failure("debian/changelog: first line is not an entry: " + first)
    return m.group(1), first


def meson_version(tree):
    with open(os.path.join(tree, "meson.build")) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    if not m:
        raise Failure("meson.build: no project version")
    return m.group(1)


def build_deps_in_step(tree):
    """Every Build-Depends of debian/control is in .ci/install-deps, so a
    fresh CI machine can build the package."""
    with open(os.path.join(tree, "debian", "control")) as f:
        m = re.search(r"^Build-Depends:(.*?)^\S", f.read(), re.M | re.S)
    wanted = set()
    for dep in m.group(1).split(","):
        for alt in dep.split("|"):
            name = re.sub(r"[(<\[].*", "", alt).strip()
            if name:
                wanted.add(name)
    # debhelper-compat is a virtual package of debhelper
    wanted = {"debhelper" if w == "debhelper-compat" else w for w in wanted}
    with open(os.path.join(tree, ".ci", "install-deps")) as f:
        m = re.search(r'^PACKAGES="(.*?)"', f.read(), re.M | re.S)
    listed = set(m.group(1).split())
    missing = sorted(wanted - listed)
    check(not missing, "debian/control's %d build dependencies are all in "
          ".ci/install-deps (missing: %s)" % (len(wanted), missing))


def export(src, dest):
    os.makedirs(dest)
    archive = subprocess.run(["git", "-C", src, "archive", "--format=tar",
                              "HEAD"], capture_output=True, timeout=60)
    if archive.returncode != 0:
        raise Failure("git archive HEAD: " + archive.stderr.decode())
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout,
                   check=True, timeout=60)


def make_upgrade(tree):
    """A higher version with a changed shipped config."""
    version, first = changelog_version(tree)
    new = version + UPGRADE_SUFFIX
    path = os.path.join(tree, "debian", "changelog")
    with open(path) as f:
        old = f.read()
    stamp = subprocess.run(["date", "-R"], capture_output=True, text=True,
                           check=True).stdout.strip()
    entry = ("netflowd (%s) unstable; urgency=medium\n\n"
             "  * Package test: an upgrade.\n\n"
             " -- netflowd package test <root@localhost>  %s\n\n"
             % (new, stamp))
    with open(path, "w") as f:
        f.write(entry + old)
    with open(os.path.join(tree, "conf", "netflowd.conf"), "a") as f:
        f.write(CONF_MARK)
    return new


def build(tree, logfile, nocheck=False):
    env = dict(os.environ)
    opts = env.get("DEB_BUILD_OPTIONS", "").split()
    if nocheck:
        opts.append("nocheck")
    env["DEB_BUILD_OPTIONS"] = " ".join(opts)
    start = time.time()
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
        logfile=logfile, timeout=900)
    log("built %s in %d s%s" % (tree, time.time() - start,
                                " (nocheck)" if nocheck else ""))


def debs(workdir, version):
    names = ["netflowd_%s_" % version, "netflow-analyze_%s_" % version]
    found = {}
    for name in os.listdir(workdir):
        for n in names:
            if name.startswith(n) and name.endswith(".deb"):
                found[n] = name
    if len(found) != 2:
        raise Failure("packages of %s not found in %s: %s"
                      % (version, workdir, sorted(os.listdir(workdir))))
    return [found[n] for n in names]


def lintian(path, logfile):
    """lintian on a .changes (the binary packages) or a .dsc."""
    r = subprocess.run(["lintian", "--fail-on", "error,warning",
                        "--display-info", "--show-overrides", path],
                       capture_output=True, text=True, timeout=300)
    with open(logfile, "w") as f:
        f.write(r.stdout + r.stderr)
    tags = [line for line in r.stdout.splitlines()
            if re.match(r"^[EWINPXO]: ", line)]
    for t in tags:
        log("  lintian:", t)
    bad = [t for t in tags if t[0] in "EW"]
    check(r.returncode == 0 and not bad,
          "lintian %s: no error or warning (exit %d, %d tags shown)"
          % (os.path.basename(path), r.returncode, len(tags)))


def lint_packages(workdir, version, logfile):
    changes = [n for n in os.listdir(workdir)
               if n.startswith("netflowd_%s_" % version) and
               n.endswith(".changes")]
    check(len(changes) == 1, "one .changes file: %s" % changes)
    lintian(os.path.join(workdir, changes[0]), logfile)


def lint_source(src, workdir):
    """The source package too (what the archive would check first)."""
    tree = os.path.join(workdir, "src", "netflowd")
    export(src, tree)
    run(["dpkg-source", "-b", "netflowd"], cwd=os.path.dirname(tree),
        logfile=os.path.join(workdir, "dpkg-source.log"), timeout=120)
    dsc = [n for n in os.listdir(os.path.dirname(tree)) if n.endswith(".dsc")]
    check(len(dsc) == 1, "one .dsc: %s" % dsc)
    lintian(os.path.join(os.path.dirname(tree), dsc[0]),
            os.path.join(workdir, "lintian-source.log"))


# -- the namespace ----------------------------------------------------------

# Run by `unshare` as PID 1 of the new namespaces, then exec'd into systemd.
# The upper layer and the new root live on a tmpfs mounted only inside this
# mount namespace; pivot_root makes the overlay the namespace's root, so
# `nsenter -m` lands in it and systemctl does not see a chroot.
BOOT = r"""
set -e
T=$1 W=$2
mount -t tmpfs -o mode=755 tmpfs "$T"
mkdir "$T/upper" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root" ||
	{ echo "NO-OVERLAY"; exit 77; }
R=$T/root
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir "$R/run/pkgtest" "$R/.oldroot"
mount --bind "$W" "$R/run/pkgtest"
ip link set lo up
cd "$R"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
# a container image's "no service starts" policy (exit 101) is this
# machine's, not the test's: here services start as on a real server
rm -f /usr/sbin/policy-rc.d
exec /lib/systemd/systemd --system --unit=basic.target
"""


class Namespace(nsboot.Namespace):
    """The system under an overlay of this machine's /, with its own PIDs
    and network: what dpkg installs there never reaches the host."""
    enter = ["-m", "-p", "-n"]
    timeout = 300

    def __init__(self, workdir):
        super().__init__(open(os.path.join(workdir, "boot.log"), "wb"))
        self.workdir = workdir
        self.mnt = tempfile.mkdtemp(prefix="netflowd-pkg-root-")

    def boot(self):
        def failed():
            with open(os.path.join(self.workdir, "boot.log"),
                      errors="replace") as f:
                out = f.read()
            if "NO-OVERLAY" in out:
                raise Skip("overlayfs over / refused here: " + out)
            raise Failure("namespace setup failed: " + out)
        self.start(["unshare", "--pid", "--fork", "--mount", "--net",
                    "--propagation", "private", "sh", "-c", BOOT, "boot",
                    self.mnt, self.workdir], on_exit=failed, start_s=20,
                   boot_s=90)
        check(self.run("findmnt", "-no", "FSTYPE", "/").stdout.strip()
              == "overlay", "the namespace's / is the overlay")

    def run(self, *args, net_only=False, **kw):
        """A command inside the namespaces (its root, PIDs and network), or
        with net_only in its network namespace alone (this machine's
        files)."""
        return super().run(*args, enter=["-n"] if net_only else None, **kw)

    def exists(self, path):
        return self.run("test", "-e", path, check=False).returncode == 0 or \
            self.run("test", "-L", path, check=False).returncode == 0

    def journal(self):
        return super().journal("-o", "cat")

    def shutdown(self):
        super().shutdown()
        try:
            os.rmdir(self.mnt)
        except OSError as e:
            log("note: %s left: %s" % (self.mnt, e))


# -- in the namespace -------------------------------------------------------

def send_capture(ns, pcap, port):
    """The capture's UDP payloads, in order, to 127.0.0.1:PORT inside the
    namespace's network (this script again, under nsenter -n)."""
    r = ns.run(sys.executable, os.path.abspath(__file__), "--send", pcap,
               str(port), net_only=True)
    log(r.stdout.strip())
    return int(r.stdout.split()[1])


def scrape(ns):
    r = ns.run("curl", "-sf", "--max-time", "5",
               "http://127.0.0.1:%d/metrics" % METRICS_PORT, net_only=True,
               check=False)
    if r.returncode != 0:
        return None
    values = {}
    for line in r.stdout.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def metric(ns, name):
    m = scrape(ns)
    return None if m is None else m.get(name, 0)


def published(ns):
    """{name: [records]} of the published files in the state directory;
    the names of hidden (unpublished) files."""
    names = ns.run("ls", "-A", STATE + "/").stdout.split()
    files, hidden = {}, []
    for name in names:
        if name.startswith("."):
            hidden.append(name)
        elif name.endswith(".json"):
            text = ns.run("cat", STATE + "/" + name).stdout
            files[name] = [strictjson.loads(l) for l in text.splitlines()]
    return files, hidden


def compare(records, expected, workdir, name):
    """tests/golden/compare.py: every flow of the golden file, no other."""
    path = os.path.join(workdir, name + ".actual.jsonl")
    with open(path, "w") as f:
        for r in records:
            f.write(strictjson.dumps(r) + "\n")
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "golden",
                                                     "compare.py"),
                        "--name", name, path, expected],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, (r.stdout + r.stderr).strip())


def dpkg_status(ns, pkg):
    r = ns.run("dpkg-query", "-W", "-f=${Status} ${Version}", pkg,
               check=False)
    return r.stdout.strip() if r.returncode == 0 else "not known"


def dpkg(ns, *args):
    r = ns.run("env", "DEBIAN_FRONTEND=noninteractive",
               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
               "/sbin:/bin", "dpkg", *args)
    return r.stdout + r.stderr


# -- the steps --------------------------------------------------------------

def test_install(ns, v1):
    out = dpkg(ns, "-i", *(INSIDE + "/" + d for d in debs(ns.workdir, v1)))
    log(out.strip())
    check(dpkg_status(ns, "netflowd") == "install ok installed " + v1,
          "netflowd %s installed" % v1)
    check(dpkg_status(ns, "netflow-analyze") == "install ok installed " + v1,
          "netflow-analyze %s installed" % v1)
    conffiles = ns.run("dpkg-query", "-W", "-f=${Conffiles}",
                       "netflowd").stdout
    check(CONF in conffiles, CONF + " is a conffile")
    for path in ("/usr/sbin/netflowd", "/usr/bin/netflow-analyze",
                 "/lib/systemd/system/netflowd.service",
                 "/usr/share/man/man8/netflowd.8.gz",
                 "/usr/share/man/man5/netflowd.conf.5.gz",
                 "/usr/share/man/man1/netflow-analyze.1.gz"):
        check(ns.exists(path), "installed: " + path)
    check(ns.run("systemctl", "is-enabled", "netflowd.service",
                 check=False).stdout.strip() == "enabled",
          "the service is enabled")
    st = ns.show("ActiveState", "SubState", "MainPID", "InvocationID",
                 "StatusText")
    check(st["ActiveState"] == "active" and st["SubState"] == "running",
          "the service was started: active (running)")
    check("3 listeners" in st["StatusText"],
          "STATUS= of the shipped config: " + st["StatusText"])
    uid = ns.run("sh", "-c", "awk '/^Uid:/ {print $2}' /proc/%s/status"
                 % st["MainPID"]).stdout.strip()
    check(uid.isdigit() and int(uid) != 0,
          "netflowd runs unprivileged (uid %s, DynamicUser=)" % uid)
    check(ns.run("readlink", STATE).stdout.strip() == "private/netflowd",
          STATE + " is systemd's StateDirectory= of a dynamic user")
    return st


def test_receive_and_reload(ns, capture, st):
    sent = send_capture(ns, capture, 2055)
    # the admin's edit: the /metrics line the shipped file has commented
    text = ns.run("cat", CONF).stdout
    example = "#listen = 127.0.0.1:%d\n" % METRICS_PORT
    check(example in text, "the shipped config has " + example.strip())
    edited = text.replace(example, example[1:])
    ns.run("sh", "-c", 'cat > "$1"', "sh", CONF, input=edited)
    check(scrape(ns) is None, "no /metrics before the reload")
    ns.run("systemctl", "reload", "netflowd.service", timeout=60)
    wait_for("/metrics up after systemctl reload: the edit applied",
             lambda: metric(ns, 'netflowd_reloads_total{result="ok"}') == 1)
    after = ns.show("ActiveState", "MainPID", "InvocationID")
    check(after["ActiveState"] == "active" and
          after["MainPID"] == st["MainPID"] and
          after["InvocationID"] == st["InvocationID"],
          "reloaded in place (MainPID %s, the same invocation)"
          % after["MainPID"])
    wait_for("the capture's %d datagrams decoded (/metrics)" % sent,
             lambda: metric(ns, 'netflowd_exporter_datagrams_total'
                            '{exporter="127.0.0.1"}') == sent)
    return edited


def test_upgrade(ns, v2, edited, before, golden, workdir):
    out = dpkg(ns, "--force-confold", "-i",
               *(INSIDE + "/" + d for d in debs(ns.workdir, v2)))
    log(out.strip())
    check(dpkg_status(ns, "netflowd") == "install ok installed " + v2,
          "upgraded to netflowd " + v2)
    check(ns.run("cat", CONF).stdout == edited,
          "the locally edited config survived the upgrade")
    dist = ns.run("cat", CONF + ".dpkg-dist", check=False)
    check(dist.returncode == 0 and dist.stdout.endswith(CONF_MARK),
          "the upgrade's shipped config is beside it, as .dpkg-dist")
    st = ns.show("ActiveState", "SubState", "MainPID", "InvocationID")
    check(st["ActiveState"] == "active" and st["SubState"] == "running" and
          st["MainPID"] != before["MainPID"] and
          st["InvocationID"] != before["InvocationID"],
          "the service was restarted (MainPID %s -> %s, a new invocation)"
          % (before["MainPID"], st["MainPID"]))
    wait_for("/metrics of the new process (the edited config in use)",
             lambda: metric(ns, 'netflowd_reloads_total{result="ok"}') == 0)
    # the old process published its slot when it stopped
    files, hidden = published(ns)
    check(not hidden, "no unpublished file left by the restart: %s" % hidden)
    check(files and all(FILE_NAME.match(n) for n in files),
          "published: %s" % sorted(files))
    v9 = [r for recs in files.values() for r in recs if r.get("version") == 9]
    compare(v9, golden, workdir, "before the upgrade")
    return st


def test_remove(ns, capture, st, golden, workdir):
    sent = send_capture(ns, capture, 4739)
    wait_for("the second capture's %d datagrams decoded by the new process"
             % sent,
             lambda: metric(ns, 'netflowd_exporter_datagrams_total'
                            '{exporter="127.0.0.1"}') == sent)
    log(dpkg(ns, "-r", "netflowd").strip())
    check(dpkg_status(ns, "netflowd").startswith("deinstall ok config-files"),
          "netflowd removed: " + dpkg_status(ns, "netflowd"))
    show = ns.show("ActiveState", "MainPID")
    check(show["ActiveState"] in ("inactive", "") and
          show.get("MainPID", "0") == "0", "the service is stopped: %s" % show)
    check(ns.run("kill", "-0", st["MainPID"], check=False).returncode != 0,
          "its process is gone")
    check(not ns.exists("/usr/sbin/netflowd"), "the binary is gone")
    check(ns.exists(CONF), "remove keeps the config")
    check(ns.exists(STATE + "/"), "remove keeps the state directory")
    files, hidden = published(ns)
    check(not hidden, "no unpublished file left by the stop: %s" % hidden)
    ipfix = [r for recs in files.values() for r in recs
             if r.get("version") == 10]
    compare(ipfix, golden, workdir, "before the remove")
    # the analyzer reads them
    r = ns.run("netflow-analyze", "-n", "--min-bytes", "0", "--json", STATE)
    conns = [strictjson.loads(l) for l in r.stdout.splitlines()]
    check(conns, "netflow-analyze reads the kept files: %d connections"
          % len(conns))


def test_purge(ns):
    log(dpkg(ns, "-P", "netflowd", "netflow-analyze").strip())
    for pkg in ("netflowd", "netflow-analyze"):
        check(dpkg_status(ns, pkg) in ("not known",
                                       "unknown ok not-installed "),
              "%s purged: %s" % (pkg, dpkg_status(ns, pkg)))
    for path in (STATE, "/var/lib/private/netflowd", "/etc/netflowd",
                 "/etc/systemd/system/multi-user.target.wants/"
                 "netflowd.service", "/usr/bin/netflow-analyze"):
        check(not ns.exists(path), "purge: %s is gone" % path)


# -- main -------------------------------------------------------------------

# What the namespace's dpkg writes, were it to reach this machine's files.
HOST_PATHS = ("/etc/netflowd", "/usr/sbin/netflowd", "/usr/bin/netflow-analyze",
              "/var/lib/dpkg/info/netflowd.list", "/var/lib/private/netflowd",
              STATE)


def host_state():
    return {p: os.path.lexists(p) for p in HOST_PATHS}


def preflight(src):
    if os.geteuid() != 0:
        raise Skip("needs root")
    for tool in ("git", "dpkg-buildpackage", "dh", "lintian", "fakeroot",
                 "unshare", "nsenter", "pgrep", "curl", "ip", "findmnt"):
        if shutil.which(tool) is None:
            raise Skip("%s not installed" % tool)
    if not os.access(SYSTEMD, os.X_OK):
        raise Skip("no " + SYSTEMD)
    r = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip("%s is not a git checkout" % src)
    return r.stdout.strip()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--send":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        n = 0
        for _, _, _, _, _, payload in pcaputil.udp_datagrams(sys.argv[2]):
            s.sendto(payload, ("127.0.0.1", int(sys.argv[3])))
            n += 1
        print("sent %d datagrams of %s to 127.0.0.1:%s"
              % (n, os.path.basename(sys.argv[2]), sys.argv[3]))
        return 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src = os.path.abspath(sys.argv[1])
    golden = os.path.join(HERE, "..", "golden")

    def too_slow(signum, frame):
        raise Failure("time limit of %d s exceeded" % TIME_LIMIT)
    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(TIME_LIMIT)
    workdir = None
    ns = None
    started = time.time()
    try:
        head = preflight(src)
        workdir = tempfile.mkdtemp(prefix="netflowd-pkg-")
        log("packaging HEAD %s of %s in %s" % (head, src, workdir))
        v1_tree = os.path.join(workdir, "v1", "netflowd")
        v2_tree = os.path.join(workdir, "v2", "netflowd")
        export(src, v1_tree)
        v1, _ = changelog_version(v1_tree)
        mv = meson_version(v1_tree)
        check(v1 == mv or v1.startswith(mv + "+"),
              "debian/changelog's version %s follows meson.build's %s"
              % (v1, mv))
        build_deps_in_step(v1_tree)
        build(v1_tree, os.path.join(workdir, "build-v1.log"))
        export(src, v2_tree)
        v2 = make_upgrade(v2_tree)
        build(v2_tree, os.path.join(workdir, "build-v2.log"), nocheck=True)
        lint_packages(os.path.dirname(v1_tree), v1,
                      os.path.join(workdir, "lintian.log"))
        lint_source(src, workdir)
        # the .debs, where the namespace sees them
        for d in (os.path.dirname(v1_tree), os.path.dirname(v2_tree)):
            for name in os.listdir(d):
                if name.endswith(".deb"):
                    os.rename(os.path.join(d, name),
                              os.path.join(workdir, name))
        host_before = host_state()
        ns = Namespace(workdir)
        ns.boot()
        st = test_install(ns, v1)
        edited = test_receive_and_reload(
            ns, os.path.join(golden, "softflowd-v9.pcap"), st)
        st = test_upgrade(ns, v2, edited, st,
                          os.path.join(golden, "softflowd-v9.expected.jsonl"),
                          workdir)
        test_remove(ns, os.path.join(golden, "softflowd-ipfix.pcap"), st,
                    os.path.join(golden, "softflowd-ipfix.expected.jsonl"),
                    workdir)
        test_purge(ns)
        check(host_state() == host_before,
              "this machine's files untouched: %s" % host_before)
        log("PASS in %d s" % (time.time() - started))
        return 0
    except Skip as e:
        log("SKIP:", e)
        return 77
    except (Failure, subprocess.TimeoutExpired) as e:
        log("FAIL:", e)
        if ns is not None and ns.pid is not None:
            try:
                log(ns.journal()[-6000:])
            except Exception:
                pass
        return 1
    finally:
        signal.alarm(0)
        if ns is not None:
            ns.shutdown()
        if workdir is not None:
            if os.environ.get("NETFLOWD_PKG_KEEP"):
                log("kept", workdir)
            else:
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
