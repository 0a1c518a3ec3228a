/* SPDX-License-Identifier: MIT */
/*
 * Hostile-input injector for the lab: sends to a node's UDP socket what an
 * attacker on the path could send. Lab addresses only (the test passes
 * them); every loop is bounded.
 *
 *   cn_inject garbage ADDR:PORT COUNT
 *       COUNT datagrams of random bytes and sizes, some shaped like cairn
 *       messages (types 1, 2, 4 with random bodies).
 *   cn_inject initiation ADDR:PORT NETWORK TARGET_KEY [KEYFILE]
 *       a handshake initiation to the node whose public key is TARGET_KEY,
 *       from KEYFILE's identity (a listed key) or, without it, from a fresh
 *       key that no peer list holds; sent twice, so the second is a replay.
 *       Then waits up to 1 s for an answer and prints "reply: N bytes" or
 *       "no reply" (a node that took the initiation answers it).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/addr.h"
#include "crypto/handshake.h"
#include "crypto/keys.h"

static int open_to(const char *text, int *fd)
{
	struct cn_addr a;

	if (cn_addr_parse(text, &a) != 0) {
		fprintf(stderr, "cn_inject: '%s' is not ADDR:PORT\n", text);
		return -1;
	}
	*fd = socket(a.ss.ss_family, SOCK_DGRAM, 0);
	if (*fd < 0 || connect(*fd, (struct sockaddr *)&a.ss, a.len) != 0) {
		perror("cn_inject: socket");
		return -1;
	}
	return 0;
}

static int garbage(const char *to, long count)
{
	uint8_t buf[1500];
	int fd;

	if (count < 1 || count > 100000 || open_to(to, &fd))
		return 2;
	for (long i = 0; i < count; i++) {
		size_t len = 1 + randombytes_uniform(sizeof(buf));

		randombytes_buf(buf, len);
		if (i % 3 == 0)
			buf[0] = (uint8_t)(i % 2 ? 4 : 1);
		if (i % 3 == 1 && len > 4)
			buf[0] = 2, buf[1] = buf[2] = buf[3] = 0;
		(void)!send(fd, buf, len, 0);
	}
	close(fd);
	printf("sent %ld garbage datagrams to %s\n", count, to);
	return 0;
}

static int initiation(const char *to, const char *network, const char *target_text,
		      const char *keyfile)
{
	struct cn_identity *id = NULL;
	struct cn_errbuf e = {{0}};
	struct cn_handshake_local local;
	struct cn_handshake hs;
	uint8_t target[CN_KEY_LEN], target_x[CN_KEY_LEN], msg[CN_HANDSHAKE_INITIATION_LEN];
	uint8_t ts[CN_TAI64N_LEN];
	struct timespec now;
	int fd, ret = 2;

	if (cn_key_from_text(target_text, strlen(target_text), target) ||
	    cn_key_ed_to_x(target, target_x)) {
		fprintf(stderr, "cn_inject: bad target key\n");
		return 2;
	}
	if (keyfile ? cn_keyfile_read(keyfile, &id, &e) : cn_identity_generate(&id)) {
		fprintf(stderr, "cn_inject: %s\n", e.msg);
		return 2;
	}
	if (open_to(to, &fd))
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	cn_handshake_tai64n(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	if (cn_handshake_local_init(&local, id, network) ||
	    cn_handshake_create_initiation(&hs, &local, target_x, randombytes_random() | 1, ts,
					   NULL, msg)) {
		fprintf(stderr, "cn_inject: cannot build the initiation\n");
		goto out;
	}
	cn_handshake_wipe(&hs);
	for (int i = 0; i < 2; i++)
		(void)!send(fd, msg, sizeof(msg), 0);
	printf("sent an initiation from %s key twice to %s\n", keyfile ? "a listed" : "an unlisted",
	       to);
	/* An ICMP port unreachable shows as a failed recv: also no reply. */
	for (int i = 0; i < 2; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t buf[1500];
		ssize_t k;

		if (poll(&p, 1, 1000) != 1)
			break;
		k = recv(fd, buf, sizeof(buf), 0);
		if (k > 0) {
			printf("reply: %zd bytes\n", k);
			goto out_close;
		}
	}
	printf("no reply\n");
out_close:
	ret = 0;
	close(fd);
out:
	cn_identity_free(id);
	return ret;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	if (argc == 4 && strcmp(argv[1], "garbage") == 0)
		return garbage(argv[2], strtol(argv[3], NULL, 10));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "initiation") == 0)
		return initiation(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	fprintf(stderr, "usage: cn_inject garbage ADDR:PORT COUNT\n"
			"       cn_inject initiation ADDR:PORT NETWORK TARGET_KEY [KEYFILE]\n");
	return 2;
}
