#!/usr/bin/env python3
"""IPFIX over TLS (issue 21): certificates made here with openssl; the
softflowd capture's messages over a verified TLS session come out with
"transport":"tls"; a client that trusts another CA refuses the daemon; an
untrusted client certificate and none at all are refused by the daemon
(tls_failed); a handshake that never starts is closed at tls_handshake; a
key that does not match its certificate stops the start-up."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import nftest  # noqa: E402
import pcaputil  # noqa: E402

NETFLOWD = os.path.abspath(sys.argv[1])
GOLDEN = os.path.join(HERE, "..", "golden")
check = nftest.Check("tls")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", os.path.join(d, name + ".key"),
            "-out", os.path.join(d, name + ".pem"), "-subj", "/CN=" + name,
            "-days", "2")


def make_cert(d, name, ca, san):
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", os.path.join(d, ca + ".pem"),
            "-CAkey", os.path.join(d, ca + ".key"), "-CAcreateserial",
            "-out", os.path.join(d, name + ".pem"), "-days", "2",
            "-extfile", ext)


def client(d, port, ca="ca", cert="client"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, ca + ".pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + ".pem"),
                            os.path.join(d, cert + ".key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def closed(mport, reason):
    return nftest.metric(nftest.metrics(mport),
                         'netflowd_sessions_closed_total{reason="%s"}' % reason) or 0


def refused_by_daemon(d, port, mport, cert, n):
    """The handshake or the first read fails; the daemon counts tls_failed."""
    try:
        s = client(d, port, cert=cert)
        s.sendall(b"\x00\x0a\x00\x10" + bytes(12))
        s.recv(1)
        s.close()
    except (ssl.SSLError, OSError):
        pass
    return nftest.wait_for(lambda: closed(mport, "tls_failed") >= n, timeout=20)


def main():
    if shutil.which("openssl") is None:
        sys.exit(77)
    work = nftest.tempfile.mkdtemp(prefix="netflowd-tls-")
    make_ca(work, "ca")
    make_ca(work, "other-ca")
    make_cert(work, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    make_cert(work, "client", "ca", "DNS:exporter")
    make_cert(work, "stranger", "other-ca", "DNS:stranger")
    tls, mport = nftest.free_tcp_port(), nftest.free_tcp_port()
    conf = ("[collector]\nlisten = 127.0.0.1:%d\nlisten_tls = 127.0.0.1:%d\n"
            "tls_certificate = %s/server.pem\ntls_key = %s/server.key\n"
            "tls_client_ca = %s/ca.pem\ntls_handshake = 2s\n"
            "[metrics]\nlisten = 127.0.0.1:%d\n"
            "[output]\ndirectory = @OUT@\nrotate = 1h\n"
            % (nftest.free_port(), tls, work, work, work, mport))
    d = nftest.Daemon(NETFLOWD, conf)
    try:
        d.start()
        msgs = [p for *_, p in pcaputil.udp_datagrams(
            os.path.join(GOLDEN, "softflowd-ipfix.pcap"))]
        s = client(work, tls)
        s.sendall(b"".join(msgs))
        s.close()
        check(nftest.wait_for(lambda: closed(mport, "peer_closed") >= 1),
              "the verified session closed by its peer")
        # a client that trusts another CA: refuses the daemon's certificate
        try:
            client(work, tls, ca="other-ca").close()
            ok = False
        except ssl.SSLCertVerificationError:
            ok = True
        check(ok, "a client trusting another CA refuses the daemon")
        check(refused_by_daemon(work, tls, mport, "stranger", 1),
              "an untrusted client certificate: tls_failed")
        check(refused_by_daemon(work, tls, mport, None, 2),
              "no client certificate: tls_failed")
        raw = socket.create_connection(("127.0.0.1", tls), timeout=20)
        try:
            gone = raw.recv(1) == b""
        except ConnectionResetError:
            gone = True
        raw.close()
        check(gone, "a stalled handshake is closed")
        check(closed(mport, "handshake_timeout") == 1, "counted as handshake_timeout")
        # a renewed certificate under the same file names: a reload picks
        # it up for new sessions; a session that is up goes on
        keep = client(work, tls)
        make_cert(work, "renewed", "ca", "IP:127.0.0.1")
        shutil.copy(os.path.join(work, "renewed.pem"), os.path.join(work, "server.pem"))
        shutil.copy(os.path.join(work, "renewed.key"), os.path.join(work, "server.key"))
        d.signal(signal.SIGHUP)
        check(nftest.wait_for(lambda: "reloaded configuration" in d.log()), "reloaded")
        s = client(work, tls)
        cn = dict(x[0] for x in s.getpeercert()["subject"]).get("commonName")
        check(cn == "renewed", "new sessions get the renewed certificate: %r" % cn)
        s.close()
        keep.sendall(b"".join(msgs))
        keep.close()
        check(nftest.wait_for(lambda: closed(mport, "peer_closed") >= 3),
              "the session from before the reload closed by its peer")
        check(d.stop() == 0, "exit 0 on SIGTERM")
        recs = d.records()
        check(len(recs) == 2 * 29 and all(r.get("transport") == "tls" for r in recs),
              "58 records, all tls: %d" % len(recs))
    finally:
        d.cleanup()
    # a key that is not the certificate's: start-up fails, saying why
    bad = conf.replace("server.key", "client.key")
    d = nftest.Daemon(NETFLOWD, bad)
    try:
        r = subprocess.run([NETFLOWD, "-n", "-c", d.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 1 and "tls_certificate" in r.stderr,
              "-n refuses a key that does not match: %s" % r.stderr)
        try:
            d.start(timeout=5)
            started = True
        except RuntimeError:
            started = False
        check(not started, "a key that does not match: no start")
        check("tls_certificate" in d.log(), "the log says why:\n" + d.log())
    finally:
        d.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
