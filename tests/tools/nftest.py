"""Helpers for tests that run the real netflowd: free ports, start with a
private config and directory, readiness through NOTIFY_SOCKET, SIGTERM."""
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

import strictjson


def fd_limited(netflowd, workdir, nofile):
    """A wrapper script in workdir that runs netflowd with RLIMIT_NOFILE
    nofile (ulimit -n; exit 99 when the shell cannot set it)."""
    path = os.path.join(workdir, "netflowd-nofile-%d" % nofile)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nulimit -n %d || exit 99\nexec "%s" "$@"\n'
                % (nofile, netflowd))
    os.chmod(path, 0o755)
    return path


def free_port(family=socket.AF_INET):
    """A UDP port free on both 127.0.0.1 and ::1 right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def free_tcp_port():
    """A TCP port free on 127.0.0.1 right now, for [metrics] listen (a
    port free for UDP may be some connection's TCP port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, netflowd, config_text=None, args=(), workdir=None,
                 stdout=subprocess.DEVNULL):
        self.netflowd = netflowd
        self.stdout = stdout
        self.dir = workdir or tempfile.mkdtemp(prefix="netflowd-test-")
        self.outdir = os.path.join(self.dir, "flows")
        self.config = None
        if config_text is not None:
            self.config = os.path.join(self.dir, "netflowd.conf")
            with open(self.config, "w") as f:
                f.write(config_text.replace("@OUT@", self.outdir))
        self.args = list(args)
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    def start(self, timeout=10):
        notify_path = os.path.join(self.dir, "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(notify_path)
        self.notify.settimeout(timeout)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        env.pop("JOURNAL_STREAM", None)
        cmd = [self.netflowd]
        if self.config:
            cmd += ["-c", self.config]
        cmd += self.args
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.stdout,
                                     stderr=self.stderr, env=env, cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                break
            if "READY=1" in msg.split("\n"):
                return
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("netflowd did not become ready:\n" + self.log())

    def log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM, wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("netflowd did not stop on SIGTERM")
        self.stderr.close()
        self.notify.close()
        return self.proc.returncode

    def files(self):
        if not os.path.isdir(self.outdir):
            return []
        return sorted(os.listdir(self.outdir))

    def records(self):
        """Every JSON line of every published file, in file order, each
        through the strict checker (a violation fails the test)."""
        out = []
        for name in self.files():
            if name.startswith("."):
                continue
            out += strictjson.check_file(os.path.join(self.outdir, name))
        return out

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def send(datagrams, port, host="127.0.0.1", family=socket.AF_INET, pace=0.0):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, (host, port))
            if pace:
                time.sleep(pace)


class Stream:
    """Sends make(n) for n = first, first + 1, ... to a UDP port on
    127.0.0.1 from a thread, a pause apart, until stop is set."""

    def __init__(self, port, make, first=0, pause=0.001):
        self.port, self.make, self.pause = port, make, pause
        self.next = self.first = first
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not self.stop.is_set():
                s.sendto(self.make(self.next), ("127.0.0.1", self.port))
                self.next += 1
                time.sleep(self.pause)

    def sent(self):
        return range(self.first, self.next)


def metrics(port):
    """The text of netflowd's /metrics on 127.0.0.1:port."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def metric(text, name):
    """The value of the sample `name` (with its labels) in a /metrics
    text, None when absent."""
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def wait_for(predicate, timeout=10, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Check:
    """Collects failures so one run reports all of them."""

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.checks = 0

    def __call__(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAIL: %s" % what, file=sys.stderr)
        return cond

    def done(self):
        print("%s: %d checks, %d failed" % (self.name, self.checks, self.failures),
              file=sys.stderr)
        sys.exit(1 if self.failures else 0)
