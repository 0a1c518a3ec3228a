/* SPDX-License-Identifier: MIT */
/* The endpoints file's lines (endpoints_fmt.h). Pure. */
#include "node/endpoints_fmt.h"

#include <stdio.h>
#include <string.h>

#include "common/dec.h"
#include "common/err.h"

/* The next space-separated field of line[*pos..len) into out (cap bytes). */
static int field(const char *line, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t start, n;

	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	start = *pos;
	while (*pos < len && line[*pos] != ' ')
		(*pos)++;
	n = *pos - start;
	if (n == 0 || n >= cap)
		return -CN_EFORMAT;
	memcpy(out, line + start, n);
	out[n] = '\0';
	return 0;
}

int cn_endpoint_line_parse(const char *line, size_t len, struct cn_endpoint_line *out)
{
	char port[8], remote[CN_ADDR_TEXT_MAX];
	uint64_t v;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len && line[pos] == ' ')
		pos++;
	if (pos == len || line[pos] == '#')
		return 1;
	if (memchr(line, '\0', len))
		return -CN_EFORMAT;
	if (field(line, len, &pos, out->name, sizeof(out->name)) ||
	    field(line, len, &pos, port, sizeof(port)) ||
	    field(line, len, &pos, remote, sizeof(remote)))
		return -CN_EFORMAT;
	while (pos < len && line[pos] == ' ')
		pos++;
	if (pos != len || !cn_peerlist_name_valid(out->name))
		return -CN_EFORMAT;
	if (!cn_dec_parse(port, strlen(port), 5, 65535, CN_DEC_CANONICAL, &v) || v == 0)
		return -CN_EFORMAT;
	out->local_port = (uint16_t)v;
	if (cn_addr_parse(remote, &out->remote) != 0 ||
	    cn_addr_port((const struct sockaddr *)&out->remote.ss) == 0)
		return -CN_EFORMAT;
	return 0;
}

int cn_endpoint_line_format(const struct cn_endpoint_line *l, char *buf, size_t cap)
{
	char a[CN_ADDR_TEXT_MAX];
	int n;

	cn_addr_format((const struct sockaddr *)&l->remote.ss, a);
	n = snprintf(buf, cap, "%s %u %s\n", l->name, l->local_port, a);
	if (n < 0 || (size_t)n >= cap)
		return -CN_ETOOBIG;
	return n;
}
