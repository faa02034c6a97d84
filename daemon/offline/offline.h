/*
 * --read: decode the NetFlow/IPFIX datagrams of a pcap file offline.
 */
#ifndef NETFLOWD_OFFLINE_H
#define NETFLOWD_OFFLINE_H

struct collector;

int offline_read(struct collector *c, const char *path);

#endif
