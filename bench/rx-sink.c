/*
 * rx-sink: the kernel's own receive ceiling. A trivial recvmmsg loop on one
 * UDP socket that only counts, so the benchmark can show how close
 * netflowd gets to what this machine can receive at all.
 *
 *   rx-sink PORT [RCVBUF_BYTES]    (stops on SIGTERM/SIGINT)
 * prints: datagrams=N bytes=N kernel_drops=N
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM 65536

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static char control[BATCH][CMSG_SPACE(sizeof(uint32_t))];
	static uint8_t data[BATCH][DGRAM];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t datagrams = 0, bytes = 0;
	uint32_t drops = 0;
	int fd, on = 1, rcvbuf;

	if (argc < 2) {
		fprintf(stderr, "usage: rx-sink PORT [RCVBUF_BYTES]\n");
		return 2;
	}
	rcvbuf = argc > 2 ? atoi(argv[2]) : 4 << 20;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("rx-sink");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
	/* no SA_RESTART: the signal interrupts recvmmsg */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ data[i], DGRAM };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			msgs[i].msg_hdr.msg_control = control[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recvmmsg");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;

			datagrams++;
			bytes += msgs[i].msg_len;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
			    cm = CMSG_NXTHDR(mh, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
		}
	}
	printf("datagrams=%" PRIu64 " bytes=%" PRIu64 " kernel_drops=%u\n",
	    datagrams, bytes, drops);
	return 0;
}
