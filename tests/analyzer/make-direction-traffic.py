#!/usr/bin/python3
"""Generate tests/analyzer/data/direction/traffic.pcap: connections whose
initiator is known from the packet order, for the direction ground truth
(direction_test.py, make-direction-fixtures.sh).

Every connection's two directions start within the same second, several
within the same millisecond. The mix covers each piece of evidence
netflow-analyze uses: downloads (the client sends less) and uploads (the
client sends more) on service ports, ports that /etc/services does not
name (the client's port above and below the server's), a SYN answered by
RST/ACK, a half-open SYN / SYN-ACK / RST, UDP request/response, ICMP and
ICMPv6 echo, IPv6. Run with Debian's /usr/bin/python3 (python3-scapy); the
output is byte-for-byte reproducible.

Usage: make-direction-traffic.py OUT.pcap
"""
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Ether, ICMPv6EchoReply,
                       ICMPv6EchoRequest, IPv6, Raw, wrpcap)

T0 = 1717408800  # 2024-06-03T10:00:00Z
MAC_C = "02:00:00:00:01:01"
MAC_S = "02:00:00:00:01:02"

pkts = []


def add(t, l3, c2s):
    e = Ether(src=MAC_C, dst=MAC_S) if c2s else Ether(src=MAC_S, dst=MAC_C)
    p = e / l3
    p.time = T0 + t
    pkts.append(p)


def ip(src, dst):
    if ":" in src:
        return IPv6(src=src, dst=dst, hlim=64)
    return IP(src=src, dst=dst, ttl=64, id=len(pkts) + 1)


def tcp_conn(c, s, sport, dport, t, rounds, creq, sresp, rtt):
    """Handshake, `rounds` request/response exchanges, FIN from both sides;
    the server answers each client packet `rtt` seconds later."""
    cs, ss = 1000, 5000

    def C(flags, data=b""):
        pkt = ip(c, s) / TCP(sport=sport, dport=dport, flags=flags, seq=cs, ack=ss if "A" in flags else 0)
        add(t, pkt / Raw(data) if data else pkt, True)

    def S(flags, data=b""):
        pkt = ip(s, c) / TCP(sport=dport, dport=sport, flags=flags, seq=ss, ack=cs)
        add(t, pkt / Raw(data) if data else pkt, False)

    C("S"); t += rtt; cs += 1
    S("SA"); t += 0.010; ss += 1
    C("A"); t += 0.010
    for _ in range(rounds):
        C("PA", b"q" * creq); cs += creq; t += rtt
        S("PA", b"r" * sresp); ss += sresp; t += 0.010
    C("FA"); cs += 1; t += rtt
    S("FA"); ss += 1; t += 0.010
    C("A")


def tcp_refused(c, s, sport, dport, t, rtt):
    add(t, ip(c, s) / TCP(sport=sport, dport=dport, flags="S", seq=77), True)
    add(t + rtt, ip(s, c) / TCP(sport=dport, dport=sport, flags="RA", seq=0, ack=78), False)


def tcp_half_open(c, s, sport, dport, t, rtt):
    """A SYN scan: SYN, SYN-ACK, and the client resets instead of ACKing."""
    add(t, ip(c, s) / TCP(sport=sport, dport=dport, flags="S", seq=300), True)
    add(t + rtt, ip(s, c) / TCP(sport=dport, dport=sport, flags="SA", seq=900, ack=301), False)
    add(t + rtt + 0.0002, ip(c, s) / TCP(sport=sport, dport=dport, flags="R", seq=301), True)


def udp_exchange(c, s, sport, dport, t, n, qlen, rlen, rtt):
    for _ in range(n):
        add(t, ip(c, s) / UDP(sport=sport, dport=dport) / Raw(b"Q" * qlen), True)
        add(t + rtt, ip(s, c) / UDP(sport=dport, dport=sport) / Raw(b"R" * rlen), False)
        t += 0.050


def ping(c, s, t, n, ident, rtt):
    for i in range(n):
        if ":" in c:
            add(t, IPv6(src=c, dst=s) / ICMPv6EchoRequest(id=ident, seq=i + 1, data=b"p" * 56), True)
            add(t + rtt, IPv6(src=s, dst=c) / ICMPv6EchoReply(id=ident, seq=i + 1, data=b"p" * 56), False)
        else:
            add(t, IP(src=c, dst=s, ttl=64) / ICMP(type=8, id=ident, seq=i + 1) / Raw(b"p" * 56), True)
            add(t + rtt, IP(src=s, dst=c, ttl=64) / ICMP(type=0, id=ident, seq=i + 1) / Raw(b"p" * 56), False)
        t += 0.100


# Half of the clients have the higher address, so that no exporter's own
# record order (softflowd sorts a flow's endpoints) can pass for evidence.
# One connection per second, each starting at .100 and over within it, so that
# both directions start in the same second. rtt 0.0003: the answer comes in
# the same millisecond as the request.
# TCP, service ports (tests/analyzer/data/services names 22, 80, 443, 3306)
tcp_conn("10.1.0.1", "10.1.0.2", 41000, 443, 1.100, 3, 300, 1400, 0.020)       # HTTPS download
tcp_conn("10.1.0.201", "10.1.0.3", 41001, 80, 2.100, 2, 200, 1400, 0.0003)       # HTTP download, same ms
tcp_conn("10.1.0.4", "10.1.0.5", 50123, 22, 3.100, 4, 1400, 60, 0.015)         # SSH upload
tcp_conn("10.1.0.212", "10.1.0.13", 51000, 3306, 4.100, 2, 80, 1200, 0.0003)    # registered port, same ms
# TCP, two ports that have no name
tcp_conn("10.1.0.6", "10.1.0.7", 40500, 34567, 5.100, 2, 100, 1300, 0.020)     # client port higher
tcp_conn("10.1.0.218", "10.1.0.19", 33100, 45678, 6.100, 2, 100, 1300, 0.0003)  # client port lower
tcp_refused("10.1.0.8", "10.1.0.9", 45000, 33000, 7.100, 0.0004)             # SYN -> RST/ACK
tcp_half_open("10.1.0.210", "10.1.0.11", 2000, 60000, 8.100, 0.0003)          # SYN, SYN-ACK, RST
# UDP
udp_exchange("10.1.0.1", "10.1.0.53", 53001, 53, 9.100, 2, 40, 200, 0.0004)     # DNS, same ms
udp_exchange("10.1.0.214", "10.1.0.15", 47000, 39000, 10.100, 3, 60, 900, 0.005)  # unnamed ports
udp_exchange("10.1.0.16", "10.1.0.17", 40001, 5353, 11.100, 3, 500, 80, 0.0003)  # upload to a named port
# ICMP
ping("10.1.0.201", "10.1.0.2", 12.100, 3, 0x2222, 0.0002)
# IPv6
tcp_conn("2001:db8:1::1", "2001:db8:1::2", 42000, 443, 13.100, 2, 250, 1300, 0.0003)
udp_exchange("2001:db8:1::1", "2001:db8:1::53", 53002, 53, 14.100, 1, 50, 180, 0.002)
tcp_conn("2001:db8:1::f3", "2001:db8:1::4", 38000, 41234, 15.100, 2, 90, 1100, 0.010)
ping("2001:db8:1::f1", "2001:db8:1::2", 16.100, 2, 0x3333, 0.0003)

pkts.sort(key=lambda p: float(p.time))
out = sys.argv[1] if len(sys.argv) > 1 else "traffic.pcap"
wrpcap(out, pkts, linktype=1)
print(f"{out}: {len(pkts)} packets")
