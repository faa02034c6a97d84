#!/usr/bin/python3
"""Generate tests/golden/traffic.pcap: a small, deterministic synthetic capture
that the real exporters (softflowd, pmacctd, fprobe) turn into flow exports.

Run with Debian's /usr/bin/python3 (python3-scapy).  Output is byte-for-byte
reproducible: fixed addresses, ports, payloads and timestamps starting at
2024-05-01T12:00:00Z.

Usage: make-traffic.py [OUT.pcap]
"""
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply,
                       ICMPv6EchoRequest, IPv6, Raw, wrpcap)

T0 = 1714564800  # 2024-05-01T12:00:00Z
MAC_C = "02:00:00:00:00:01"
MAC_S = "02:00:00:00:00:02"

pkts = []


def add(t, l3, c2s=True):
    e = Ether(src=MAC_C, dst=MAC_S) if c2s else Ether(src=MAC_S, dst=MAC_C)
    p = e / l3
    p.time = T0 + t
    pkts.append(p)


def ip(src, dst, v6, tos=0):
    if v6:
        return IPv6(src=src, dst=dst, tc=tos, hlim=64)
    return IP(src=src, dst=dst, tos=tos, ttl=64, id=len(pkts) + 1)


def tcp_conn(c, s, sport, dport, t, rounds, creq, sresp, v6=False, step=0.125, tos=0):
    """Full TCP connection: handshake, `rounds` request/response exchanges,
    FIN from both sides.  Returns time after the last packet."""
    cs = 1000
    ss = 5000
    C = lambda: ip(c, s, v6, tos)
    S = lambda: ip(s, c, v6, tos)
    add(t, C() / TCP(sport=sport, dport=dport, flags="S", seq=cs), True); t += step
    add(t, S() / TCP(sport=dport, dport=sport, flags="SA", seq=ss, ack=cs + 1), False); t += step
    cs += 1; ss += 1
    add(t, C() / TCP(sport=sport, dport=dport, flags="A", seq=cs, ack=ss), True); t += step
    for _ in range(rounds):
        add(t, C() / TCP(sport=sport, dport=dport, flags="PA", seq=cs, ack=ss) / Raw(b"q" * creq), True)
        cs += creq; t += step
        add(t, S() / TCP(sport=dport, dport=sport, flags="PA", seq=ss, ack=cs) / Raw(b"r" * sresp), False)
        ss += sresp; t += step
    add(t, C() / TCP(sport=sport, dport=dport, flags="FA", seq=cs, ack=ss), True); t += step
    cs += 1
    add(t, S() / TCP(sport=dport, dport=sport, flags="FA", seq=ss, ack=cs), False); t += step
    ss += 1
    add(t, C() / TCP(sport=sport, dport=dport, flags="A", seq=cs, ack=ss), True)
    return t


def tcp_refused(c, s, sport, dport, t, v6=False):
    add(t, ip(c, s, v6) / TCP(sport=sport, dport=dport, flags="S", seq=77), True)
    add(t + 0.003, ip(s, c, v6) / TCP(sport=dport, dport=sport, flags="RA", seq=0, ack=78), False)


def udp_exchange(c, s, sport, dport, t, n, qlen, rlen, v6=False, step=0.010):
    for i in range(n):
        add(t, ip(c, s, v6) / UDP(sport=sport, dport=dport) / Raw(b"Q" * qlen), True); t += step
        if rlen:
            add(t, ip(s, c, v6) / UDP(sport=dport, dport=sport) / Raw(b"R" * rlen), False)
        t += step


def ping4(c, s, t, n, ident, size=56):
    for i in range(n):
        add(t + i, IP(src=c, dst=s, ttl=64) / ICMP(type=8, code=0, id=ident, seq=i + 1) / Raw(b"p" * size), True)
        add(t + i + 0.001, IP(src=s, dst=c, ttl=64) / ICMP(type=0, code=0, id=ident, seq=i + 1) / Raw(b"p" * size), False)


def ping6(c, s, t, n, ident, size=56):
    for i in range(n):
        add(t + i, IPv6(src=c, dst=s) / ICMPv6EchoRequest(id=ident, seq=i + 1, data=b"p" * size), True)
        add(t + i + 0.001, IPv6(src=s, dst=c) / ICMPv6EchoReply(id=ident, seq=i + 1, data=b"p" * size), False)


# ---- IPv4 ----
tcp_conn("10.0.0.1", "10.0.0.2", 40001, 22, 0.250, 6, 48, 96, step=1.5, tos=0x10)  # ssh, ~21 s
tcp_conn("10.0.0.1", "93.184.216.34", 40002, 443, 3.000, 3, 517, 1400)             # https
tcp_conn("10.0.0.3", "10.0.0.2", 40003, 80, 10.500, 2, 120, 1200, step=0.040)       # http
udp_exchange("10.0.0.1", "10.0.0.53", 53001, 53, 12.125, 1, 40, 120)              # dns
udp_exchange("10.0.0.1", "10.0.0.53", 53002, 53, 45.750, 2, 40, 200)              # dns x2
udp_exchange("10.0.0.4", "10.0.0.5", 5000, 6000, 20.000, 5, 200, 0, step=0.5)      # one-way udp
ping4("10.0.0.1", "10.0.0.2", 30.000, 4, 0x1234)                                  # icmp echo
tcp_refused("10.0.0.6", "10.0.0.2", 40004, 25, 60.600)                            # SYN -> RST
tcp_conn("192.168.1.10", "198.51.100.7", 51515, 8080, 90.000, 2, 300, 600, step=0.3)

# ---- IPv6 ----
tcp_conn("2001:db8::1", "2001:db8::2", 40010, 443, 5.000, 3, 517, 1200, v6=True)
tcp_conn("2001:db8::1", "2001:db8:0:1::80", 40011, 80, 35.000, 2, 150, 900, v6=True, step=0.2)
udp_exchange("2001:db8::1", "2001:db8::53", 53010, 53, 15.000, 1, 50, 150, v6=True)
udp_exchange("fd00:1::10", "fd00:2::20", 7000, 7001, 70.000, 4, 100, 0, v6=True, step=0.25)
ping6("2001:db8::1", "2001:db8::2", 50.000, 3, 0x4321)
tcp_conn("2001:db8::1", "2001:db8::2", 40012, 22, 100.000, 2, 64, 64, v6=True, step=0.5)

pkts.sort(key=lambda p: float(p.time))
out = sys.argv[1] if len(sys.argv) > 1 else "traffic.pcap"
wrpcap(out, pkts, linktype=1)
print(f"{out}: {len(pkts)} packets")
