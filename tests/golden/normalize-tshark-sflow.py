#!/usr/bin/env python3
"""Decode a pcap of sFlow v5 datagrams with tshark's sFlow dissector (and
its dissection of each sampled header) and print one JSON object per flow
sample, in netflowd's keys (README "sFlow"):

Usage: normalize-tshark-sflow.py CAPTURE.pcap UDP_PORT > NAME.expected.jsonl

Per flow sample: version 5, format "sflow", exporter (UDP source), agent,
domain (sub-agent id), sampling_interval, sample_pool, drops, in_if/out_if
(single-interface encoding; out_if_discarded / out_if_multiple otherwise),
packets 1, bytes (the raw header's frame length), and from the sampled
header as tshark dissects it: MAC addresses, 802.1Q tags (dot1qVlanId,
dot1qCustomerVlanId), the innermost ethernetType, ipVersion, addresses,
proto (the upper layer after IPv6 extension headers), tos, ports, TCP flags
(low 8 bits), ICMP type/code, fragment offset/identification. The extended
switch record gives vlanId/postVlanId. Times are not compared (sFlow has
none; start = end = time received). Python 3 standard library + tshark.
"""
import json
import subprocess
import sys


def pairs(items):
    """JSON object as a list of (key, value): tshark repeats keys."""
    return items


def get(obj, key, default=None):
    for k, v in obj:
        if k == key:
            return v
    return default


def children(obj):
    return [(k, v) for k, v in obj if isinstance(v, list)]


def find(obj, key):
    """First value of key anywhere below obj (depth first, in order)."""
    for k, v in obj:
        if k == key:
            return v
        if isinstance(v, list):
            r = find(v, key)
            if r is not None:
                return r
    return None


def find_all(obj, pred, out):
    for k, v in obj:
        if pred(k):
            out.append(v)
        if isinstance(v, list):
            find_all(v, pred, out)
    return out


def interfaces(rec, sample):
    for side, key in (("in", "input_interface"), ("out", "output_interface")):
        tree = get(sample, "sflow.flow_sample.%s_tree" % key)
        if tree is not None:
            fmt = int(get(tree, "sflow.flow_sample.%s_format" % key))
            val = int(get(tree, "sflow.flow_sample.%s_value" % key))
        else:
            raw = get(sample, "sflow.flow_sample.%s" % key)
            if raw is None:
                continue
            v = int(raw, 0)
            fmt, val = v >> 30, v & 0x3FFFFFFF
        if fmt == 0:
            rec[side + "_if"] = val
        elif fmt == 1:
            rec[side + "_if_discarded"] = val
        elif fmt == 2:
            rec[side + "_if_multiple"] = val


def header(rec, tree):
    eth = get(tree, "eth")
    if eth is not None:
        rec["destinationMacAddress"] = get(eth, "eth.dst")
        rec["sourceMacAddress"] = get(eth, "eth.src")
        etype = get(eth, "eth.type")
        vlans = [v for k, v in tree if k == "vlan"]
        for i, v in enumerate(vlans[:2]):
            key = "dot1qVlanId" if i == 0 else "dot1qCustomerVlanId"
            rec[key] = int(get(v, "vlan.id"))
            etype = get(v, "vlan.etype")
        if etype is not None:
            rec["ethernetType"] = int(etype, 0)
    ip = get(tree, "ip")
    ip6 = get(tree, "ipv6")
    if ip is not None:
        rec["ipVersion"] = 4
        rec["src_addr"] = get(ip, "ip.src")
        rec["dst_addr"] = get(ip, "ip.dst")
        rec["proto"] = int(get(ip, "ip.proto"))
        rec["tos"] = int(get(ip, "ip.dsfield"), 0)
        off = int(get(ip, "ip.frag_offset"))
        flags = get(ip, "ip.flags_tree")
        mf = flags is not None and get(flags, "ip.flags.mf") == "1"
        if off or mf:
            # tshark shows the offset in bytes, IPFIX counts 8-byte units
            rec["fragmentOffset"] = off // 8 if off % 8 == 0 else off
            rec["fragmentIdentification"] = int(get(ip, "ip.id"), 0)
        later = off != 0
    elif ip6 is not None:
        rec["ipVersion"] = 6
        rec["src_addr"] = get(ip6, "ipv6.src")
        rec["dst_addr"] = get(ip6, "ipv6.dst")
        rec["tos"] = int(get(ip6, "ipv6.tclass"), 0)
        nxt = find_all(ip6, lambda k: k.endswith(".nxt"), [])
        rec["proto"] = int(nxt[-1])
        off = find(ip6, "ipv6.fraghdr.offset")
        later = off is not None and int(off) != 0
        if off is not None:
            rec["fragmentOffset"] = int(off)
            rec["fragmentIdentification"] = int(find(ip6, "ipv6.fraghdr.ident"), 0)
    else:
        return
    if later:
        return
    for layer, sp, dp in (("tcp", "tcp.srcport", "tcp.dstport"),
                          ("udp", "udp.srcport", "udp.dstport")):
        t = get(tree, layer)
        if t is not None:
            rec["src_port"] = int(get(t, sp))
            rec["dst_port"] = int(get(t, dp))
            if layer == "tcp":
                rec["tcp_flags"] = int(get(t, "tcp.flags"), 0) & 0xFF
    for layer in ("icmp", "icmpv6"):
        t = get(tree, layer)
        if t is not None:
            rec["icmp_type"] = int(get(t, layer + ".type"))
            rec["icmp_code"] = int(get(t, layer + ".code"))


def flow_sample(base, sample):
    rec = dict(base)
    rec["sampling_interval"] = int(get(sample, "sflow.flow_sample.sampling_rate"))
    rec["sample_pool"] = int(get(sample, "sflow.flow_sample.sample_pool"))
    rec["drops"] = int(get(sample, "sflow.flow_sample.dropped_packets"))
    rec["packets"] = 1
    interfaces(rec, sample)
    for name, rec_tree in children(sample):
        fmt = get(rec_tree, "sflow_245.flow_record_format")
        if fmt == "1001":
            rec["vlanId"] = int(get(rec_tree, "sflow_245.vlan.in"))
            rec["postVlanId"] = int(get(rec_tree, "sflow_245.vlan.out"))
        elif fmt == "1":
            rec["bytes"] = int(get(rec_tree, "sflow_245.header.frame_length"))
            tree = get(rec_tree, "sflow_245.header_tree")
            if tree is not None:
                header(rec, tree)
    return rec


def main():
    pcap, port = sys.argv[1], sys.argv[2]
    out = subprocess.run(
        ["tshark", "-r", pcap, "-d", "udp.port==%s,sflow" % port, "-T", "json",
         "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"],
        check=True, capture_output=True, text=True).stdout
    packets = json.loads(out, object_pairs_hook=pairs)
    for pkt in packets:
        layers = get(get(pkt, "_source"), "layers")
        sf = get(layers, "sflow")
        if sf is None:
            continue
        base = {
            "version": 5, "format": "sflow",
            "exporter": get(get(layers, "ip") or get(layers, "ipv6"), "ip.src")
            or get(get(layers, "ipv6"), "ipv6.src"),
            "agent": get(sf, "sflow_245.agent") or get(sf, "sflow_245.agent.v6"),
            "domain": int(get(sf, "sflow_245.sub_agent_id")),
        }
        for name, sample in children(sf):
            stype = get(sample, "sflow_245.sampletype")
            if stype in ("1", "3"):
                print(json.dumps(flow_sample(base, sample)))


if __name__ == "__main__":
    main()
