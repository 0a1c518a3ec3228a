/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding answers (relay_int.h) on the stun ports and the UDP link
 * ports: the datagram's source as the mapped address, with the codec's
 * answer policy (nat/stun.h cn_stun_request_reply). Malformed requests are
 * ignored and counted.
 *
 * STUN is unauthenticated and its source address may be forged, so the
 * relay must not be an amplifier (answers were 1.6-3.3x the request, with
 * SOFTWARE and no limit):
 *   - no SOFTWARE attribute, so an answer is as small as the codec allows;
 *   - byte credit per source address: every decoded request adds its
 *     length, every answer spends its own, and an answer the credit does
 *     not cover is not sent. What goes to an address never exceeds what
 *     came from it. A request smaller than its answer (a bare 20-byte one
 *     gets 32 or more) is answered on the client's retransmission, which
 *     every STUN client over UDP makes (RFC 8489 section 6.2.1; libnice
 *     after 200 ms); cairn's own requests are long enough to be answered
 *     at once (CN_STUN_CLIENT_SOFTWARE);
 *   - a token bucket of requests per source address (STUN_RATE per
 *     second, STUN_BURST at once): a flood from one source is cut off.
 */
#include "relay/relay_int.h"

#include <netinet/in.h>
#include <string.h>

#include "common/clock.h"
#include "nat/stun.h"

enum {
	STUN_RATE = 20,	    /* requests answered per source address per second */
	STUN_BURST = 50,    /* ... and at once: libnice gathers for several streams */
	STUN_CREDIT = 1024, /* bytes of credit an address may hold */
};

int cn_relay_stun_init(struct cn_relay *r)
{
	cn_ratelimit_init(&r->stun_rl, STUN_RATE, STUN_BURST);
	cn_ratelimit_init(&r->stun_credit, STUN_CREDIT, STUN_CREDIT);
	return 0;
}

void cn_relay_stun_answer(struct cn_relay *r, int fd, const uint8_t *buf, size_t len,
			  const struct sockaddr *sa, socklen_t salen)
{
	struct cn_stun_request req;
	struct cn_stun_addr mapped = {0};
	uint8_t out[CN_STUN_MSG_MAX];
	size_t out_len = 0;
	uint64_t now;
	int ret;

	if (cn_stun_decode_request(buf, len, &req) != 0) {
		r->m.stun_bad++;
		return;
	}
	r->m.stun_requests++;
	now = cn_clock_ms();
	cn_ratelimit_credit_add(&r->stun_credit, sa, now, (uint32_t)len);
	if (!cn_ratelimit_allow(&r->stun_rl, sa, now)) {
		r->m.stun_ratelimited++;
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		mapped.family = CN_STUN_FAMILY_IPV4;
		mapped.port = ntohs(s4->sin_port);
		memcpy(mapped.ip, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		mapped.family = CN_STUN_FAMILY_IPV6;
		mapped.port = ntohs(s6->sin6_port);
		memcpy(mapped.ip, &s6->sin6_addr, 16);
	}
	switch (cn_stun_request_reply(&req)) {
	case CN_STUN_REPLY_NONE:
		return;
	case CN_STUN_REPLY_SUCCESS:
		ret = cn_stun_encode_binding_response(&req, &mapped, NULL, out, sizeof(out),
						      &out_len);
		break;
	case CN_STUN_REPLY_UNKNOWN:
		ret = cn_stun_encode_unknown_response(&req, NULL, out, sizeof(out), &out_len);
		break;
	default:
		return;
	}
	if (ret)
		return;
	if (!cn_ratelimit_credit_take(&r->stun_credit, sa, now, (uint32_t)out_len)) {
		r->m.stun_no_credit++; /* answered when it asks again */
		return;
	}
	(void)sendto(fd, out, out_len, MSG_DONTWAIT, sa, salen);
}
