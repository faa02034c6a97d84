#!/usr/bin/env python3
"""Input traffic for the sFlow fixture: traffic.pcap, then layers the
sampled headers must get through, one second after its last packet:
802.1Q (VLAN 100 priority 5, TCP both ways), QinQ (802.1ad 300 over
802.1Q 20, UDP), IPv6 ICMPv6 echo over VLAN 200, IPv6 with hop-by-hop and
destination-options headers before TCP, ICMP echo and a port-unreachable
error, a UDP datagram in three IPv4 fragments and one in three IPv6
fragments. Deterministic: fixed addresses, MACs, ids and times.

Usage: make-sflow-traffic.py traffic.pcap OUT.pcap  (python3-scapy)"""
import sys

from scapy.all import (ICMP, IP, UDP, TCP, Dot1AD, Dot1Q, Ether,
                       ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, fragment,
                       fragment6, rdpcap, wrpcap)

packets = list(rdpcap(sys.argv[1]))
t = float(packets[-1].time) + 1
mac = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
extra = []


def add(p):
    global t
    p.time = t
    t += 0.01
    extra.append(p)


add(Ether(**mac) / Dot1Q(vlan=100, prio=5) /
    IP(src="10.1.0.1", dst="10.1.0.2", tos=0x20) /
    TCP(sport=33000, dport=443, flags="S"))
add(Ether(**mac) / Dot1Q(vlan=100, prio=5) /
    IP(src="10.1.0.2", dst="10.1.0.1") / TCP(sport=443, dport=33000, flags="SA"))
add(Ether(**mac, type=0x88a8) / Dot1AD(vlan=300, prio=1) / Dot1Q(vlan=20) /
    IP(src="10.2.0.1", dst="10.2.0.2") / UDP(sport=5000, dport=53) / (b"q" * 20))
add(Ether(**mac) / Dot1Q(vlan=200) /
    IPv6(src="2001:db8:1::1", dst="2001:db8:1::2") / ICMPv6EchoRequest(id=1, seq=1))
add(Ether(**mac) / IPv6(src="2001:db8:2::1", dst="2001:db8:2::2") /
    IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
    TCP(sport=40000, dport=22, flags="PA") / (b"x" * 30))
add(Ether(**mac) / IP(src="10.3.0.1", dst="10.3.0.2") / ICMP(type=8, code=0) /
    (b"p" * 56))
add(Ether(**mac) / IP(src="10.3.0.2", dst="10.3.0.1") / ICMP(type=3, code=3) /
    IP(src="10.3.0.1", dst="10.3.0.2") / UDP(sport=1, dport=2))
for f in fragment(IP(src="10.4.0.1", dst="10.4.0.2", id=777) /
                  UDP(sport=6000, dport=7000) / (b"F" * 3000), fragsize=1400):
    add(Ether(**mac) / f)
for f in fragment6(IPv6(src="2001:db8:3::1", dst="2001:db8:3::2") /
                   IPv6ExtHdrFragment(id=0x1234) / UDP(sport=6001, dport=7001) /
                   (b"G" * 3000), 1400):
    add(Ether(**mac) / f)
wrpcap(sys.argv[2], packets + extra)
