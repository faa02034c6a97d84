"""Read the UDP datagrams of a classic pcap (Ethernet, Linux SLL, raw IP)."""
import ipaddress
import struct


def udp_datagrams(path):
    """Yields (ts, src_ip, sport, dst_ip, dport, payload)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + caplen]
        off += caplen
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:
            etype = struct.unpack("!H", frame[12:14])[0]
            ip = frame[14:]
        elif linktype == 113:
            etype = struct.unpack("!H", frame[14:16])[0]
            ip = frame[16:]
        elif linktype in (101, 228, 229):
            ip = frame
            etype = 0x86DD if ip[0] >> 4 == 6 else 0x0800
        else:
            raise ValueError("unsupported link type %d" % linktype)
        if etype == 0x0800 and ip[9] == 17:
            ihl = (ip[0] & 15) * 4
            src = str(ipaddress.IPv4Address(ip[12:16]))
            dst = str(ipaddress.IPv4Address(ip[16:20]))
            udp = ip[ihl:]
        elif etype == 0x86DD and ip[6] == 17:
            src = str(ipaddress.IPv6Address(ip[8:24]))
            dst = str(ipaddress.IPv6Address(ip[24:40]))
            udp = ip[40:]
        else:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield ts, src, sport, dst, dport, udp[8:ulen]
