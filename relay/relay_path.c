/* SPDX-License-Identifier: MIT */
/*
 * UDP path validation (relay_int.h), as QUIC does it (RFC 9000 section
 * 8.2): a UDP link follows its node to a new address (NAT rebinding,
 * roaming) only once that address proves it receives.
 *
 * Why: a datagram's source address is not authenticated. Before, the
 * first authentic datagram from a new address moved the link, so a listed
 * peer could send one HAVE_LIST(0) with a victim's source address and make
 * the relay stream the whole peer list there (x5106 in bytes), and an
 * on-path box could replay a captured datagram to pull a node's traffic.
 *
 * How: an authentic datagram from an address other than the link's gets a
 * PATH_CHALLENGE with a fresh random token, sealed in the link's session
 * and sent to that address only; everything else keeps going to the
 * link's address. The link moves when a PATH_RESPONSE with that token
 * arrives from that address (the node's relay client answers from the
 * socket it sends with). Nothing else goes to an unvalidated address, and
 * the challenge (41 bytes) is never longer than the datagram that caused
 * it: shorter ones (an empty keepalive) cause none. One challenge per link
 * per CHALLENGE_INTERVAL_MS; one outstanding, to the latest address.
 */
#include "relay/relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/session.h"

enum {
	CHALLENGE_INTERVAL_MS = 1000,
	CHALLENGE_LEN = CN_SESSION_OVERHEAD + 1 + CN_LINK_TOKEN_LEN, /* on the wire */
};
_Static_assert(CHALLENGE_LEN == 41, "a challenge is as long as a PING");

struct relay_path {
	struct cn_addr to; /* the address challenged */
	uint8_t token[CN_LINK_TOKEN_LEN];
	uint64_t sent_ms;
};

void cn_relay_path_drop(struct relay_link *l)
{
	if (!l->path)
		return;
	sodium_memzero(l->path, sizeof(*l->path));
	free(l->path);
	l->path = NULL;
}

void cn_relay_path_seen(struct relay_link *l, const struct sockaddr *sa, socklen_t salen,
			size_t len, uint64_t now)
{
	struct cn_relay *r = l->r;
	struct cn_link_msg m = {.type = CN_LINK_PATH_CHALLENGE};
	struct cn_addr to;
	size_t out_len = 0;

	if (len < CHALLENGE_LEN || cn_addr_set(&to, sa, salen) != 0)
		return; /* never more bytes to an unvalidated address than it sent */
	if (l->path && now - l->path->sent_ms < CHALLENGE_INTERVAL_MS)
		return; /* paced: one challenge out, at most one per interval */
	if (!l->path) {
		l->path = calloc(1, sizeof(*l->path));
		if (!l->path)
			return;
	}
	l->path->to = to;
	randombytes_buf(l->path->token, sizeof(l->path->token));
	l->path->sent_ms = now;
	m.token = l->path->token;
	if (cn_relay_link_seal(l, &m, &out_len) != 0)
		return;
	if (cn_relay_udp_write_to(l, out_len, sa, salen) == 0)
		r->m.path_challenges++;
}

void cn_relay_path_response(struct relay_link *l, const struct cn_link_msg *m,
			    const struct sockaddr *sa, socklen_t salen)
{
	struct cn_relay *r = l->r;
	char a[CN_ADDR_TEXT_MAX];

	if (!l->path || !cn_addr_equal((const struct sockaddr *)&l->path->to.ss, sa) ||
	    sodium_memcmp(l->path->token, m->token, CN_LINK_TOKEN_LEN) != 0) {
		r->m.drop_bad_message++; /* stale, or not from where the challenge went */
		return;
	}
	cn_addr_format(sa, a);
	cn_log_info("link %s %s: moved to %s (path validated)", l->addr_text,
		    l->peer ? l->peer->name : "", a);
	(void)cn_addr_set(&l->addr, sa, salen); /* it fit the challenge's copy */
	snprintf(l->addr_text, sizeof(l->addr_text), "%s", a);
	cn_relay_path_drop(l);
	r->m.path_moves++;
}
