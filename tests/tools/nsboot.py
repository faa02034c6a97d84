"""A real systemd booted as PID 1 of private namespaces, for the tests
that run netflowd as a service (tests/systemd/test_service.py) and
install its packages (tests/package/test_package.py).

The caller gives the `unshare ... sh -c SCRIPT` command line; the script
mounts private tmpfs over /tmp and /run (a booting systemd empties /tmp)
and execs systemd. This module finds that systemd, waits until it has
booted, runs commands inside it with nsenter and kills it at the end."""
import os
import signal
import subprocess
import time

SYSTEMD = "/lib/systemd/systemd"


class Failure(Exception):
    pass


class Namespace:
    """`nsenter` flags for run(): mount + PID namespaces; a test that
    also unshares the network adds "-n"."""
    enter = ["-m", "-p"]
    timeout = 60

    def __init__(self, console=None):
        self.unshare = None
        self.pid = None
        self.console = console or open(os.devnull, "wb")

    def start(self, argv, on_exit=None, start_s=10, boot_s=60):
        """Runs argv (the unshare command line) and waits for its systemd
        to boot. on_exit(), called if argv ends before systemd shows up,
        raises what the caller wants to say about it."""
        self.unshare = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.console,
            stderr=self.console, start_new_session=True)
        deadline = time.time() + start_s
        while time.time() < deadline and self.pid is None:
            if self.unshare.poll() is not None and on_exit is not None:
                on_exit()
            r = subprocess.run(["pgrep", "-P", str(self.unshare.pid), "-x",
                                "systemd"], capture_output=True, text=True)
            if r.stdout.strip():
                self.pid = int(r.stdout.split()[0])
            else:
                time.sleep(0.1)
        if self.pid is None:
            raise Failure("systemd did not start in the namespace")
        deadline = time.time() + boot_s
        state = ""
        while time.time() < deadline:
            state = self.run("systemctl", "is-system-running",
                             check=False).stdout.strip()
            if state in ("running", "degraded"):
                print("systemd is", state, "as pid", self.pid, flush=True)
                return
            time.sleep(0.3)
        raise Failure("systemd did not finish booting: " + state)

    def run(self, *args, check=True, input=None, timeout=None, enter=None):
        """A command inside the namespaces; stdout and stderr as text."""
        if isinstance(input, str):
            input = input.encode()
        r = subprocess.run(["nsenter", "-t", str(self.pid)] +
                           (enter or self.enter) + ["--"] + list(args),
                           capture_output=True,
                           input=input if input is not None else b"",
                           timeout=timeout or self.timeout)
        r.stdout = r.stdout.decode(errors="replace")
        r.stderr = r.stderr.decode(errors="replace")
        if check and r.returncode != 0:
            raise Failure("%s: exit %d: %s%s" % (" ".join(args), r.returncode,
                                                 r.stdout, r.stderr))
        return r

    def show(self, *props, unit="netflowd.service"):
        out = self.run("systemctl", "show", unit,
                       "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines()
                    if "=" in line)

    def journal(self, *args, unit="netflowd.service"):
        return self.run("journalctl", "--no-pager", "-u", unit,
                        *args, check=False).stdout

    def shutdown(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.unshare is not None:
            try:
                self.unshare.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.unshare.pid, signal.SIGKILL)
                self.unshare.wait(timeout=5)
        self.console.close()
