/* SPDX-License-Identifier: MIT */
#include "common/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dec.h"
#include "common/err.h"

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (!cn_dec_parse(s, strlen(s), 5, 65535, CN_DEC_ANY, &v))
		return -CN_EFORMAT;
	*port = (uint16_t)v;
	return 0;
}

int cn_addr_parse(const char *text, struct cn_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_text;
	uint16_t port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -CN_EFORMAT;
		hlen = (size_t)(close - text - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -CN_EFORMAT;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		port_text = close + 2;
		if (parse_port(port_text, &port))
			return -CN_EFORMAT;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -CN_EFORMAT;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		out->len = sizeof(*s6);
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon)
		return -CN_EFORMAT;
	hlen = (size_t)(colon - text);
	if (hlen == 0 || hlen >= sizeof(host))
		return -CN_EFORMAT;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (parse_port(colon + 1, &port))
		return -CN_EFORMAT;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;

	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -CN_EFORMAT;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	out->len = sizeof(*s4);
	return 0;
}

void cn_addr_format(const struct sockaddr *sa, char out[static CN_ADDR_TEXT_MAX])
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, CN_ADDR_TEXT_MAX, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, CN_ADDR_TEXT_MAX, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(out, CN_ADDR_TEXT_MAX, "?");
	}
}

int cn_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

int cn_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

int cn_addr_set(struct cn_addr *out, const struct sockaddr *sa, socklen_t len)
{
	if (!sa || len > sizeof(out->ss) || len < sizeof(sa_family_t) ||
	    (sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return -CN_EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, sa, len);
	out->len = len;
	return 0;
}
