/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding answers (relay_int.h) on the stun ports and the UDP link
 * ports: the datagram's source as the mapped address, with the codec's
 * answer policy (nat/stun.h cn_stun_request_reply). Malformed requests are
 * ignored and counted.
 */
#include "relay/relay_int.h"

#include <netinet/in.h>
#include <string.h>

#include "nat/stun.h"

#define SOFTWARE "cairn-relay"

void cn_relay_stun_answer(struct cn_relay *r, int fd, const uint8_t *buf, size_t len,
			  const struct sockaddr *sa, socklen_t salen)
{
	struct cn_stun_request req;
	struct cn_stun_addr mapped = {0};
	uint8_t out[CN_STUN_MSG_MAX];
	size_t out_len = 0;
	int ret;

	if (cn_stun_decode_request(buf, len, &req) != 0) {
		r->m.stun_bad++;
		return;
	}
	r->m.stun_requests++;
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
		ret = cn_stun_encode_binding_response(&req, &mapped, SOFTWARE, out, sizeof(out),
						      &out_len);
		break;
	case CN_STUN_REPLY_UNKNOWN:
		ret = cn_stun_encode_unknown_response(&req, SOFTWARE, out, sizeof(out), &out_len);
		break;
	default:
		return;
	}
	if (ret == 0)
		(void)sendto(fd, out, out_len, MSG_DONTWAIT, sa, salen);
}
