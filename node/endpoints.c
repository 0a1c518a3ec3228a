/* SPDX-License-Identifier: MIT */
/*
 * The endpoints file in the state directory (node_int.h): the last
 * working direct endpoint of each peer, saved when they change and read
 * back at start, so peers reachable directly come back even with every
 * relay down. Line format: endpoints_fmt.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/file.h"
#include "node/endpoints_fmt.h"
#include "node/node_int.h"

enum { ENDPOINTS_MAX_BYTES = 64 * 1024 };

void node_endpoints_save(struct cn_node *n)
{
	char path[CN_NODE_PATH_MAX + 32], line[CN_NAME_MAX + CN_ADDR_TEXT_MAX + 16], *text = NULL;
	size_t cap = 0;
	struct cn_errbuf e = {{0}};
	FILE *f = open_memstream(&text, &cap);

	if (!f)
		return;
	fprintf(f, "# cairn-node: last working direct endpoints, rewritten by the node\n");
	for (size_t i = 0; i < cn_engine_npeers(n->eng); i++) {
		struct cn_peer *p = cn_engine_peer(n->eng, i);
		struct cn_endpoint_line l;

		if (!p->dsock || !p->dlocal_port)
			continue;
		snprintf(l.name, sizeof(l.name), "%s", p->name);
		l.local_port = p->dlocal_port;
		l.remote = p->dremote;
		if (cn_endpoint_line_format(&l, line, sizeof(line)) > 0)
			fputs(line, f);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, NODE_STATE_ENDPOINTS_FILE);
	if (cn_file_write_atomic(path, text, strlen(text), 0600, &e))
		cn_log_warn("cannot save direct endpoints: %s", e.msg);
	free(text);
	n->endpoints_dirty = false;
}

/* A UDP socket bound to `port` of the same family as remote (another port if taken). */
static int open_local(const struct cn_endpoint_line *l)
{
	struct cn_addr la;
	int fd = socket(l->remote.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&la, 0, sizeof(la));
	la.ss.ss_family = l->remote.ss.ss_family;
	if (la.ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&la.ss)->sin_port = htons(l->local_port);
		la.len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&la.ss)->sin6_port = htons(l->local_port);
		la.len = sizeof(struct sockaddr_in6);
	}
	/* The same local port keeps the NAT mapping the peer knows. */
	if (bind(fd, (const struct sockaddr *)&la.ss, la.len) != 0)
		cn_log_info("peer %s: old local port %u is taken; trying another", l->name,
			    l->local_port);
	return fd;
}

void node_endpoints_restore(struct cn_node *n)
{
	char path[CN_NODE_PATH_MAX + 32], *text = NULL;
	size_t len = 0, pos = 0, lineno = 0;
	struct cn_errbuf e = {{0}};

	snprintf(path, sizeof(path), "%s/%s", n->cfg.state_dir, NODE_STATE_ENDPOINTS_FILE);
	if (cn_file_read(path, ENDPOINTS_MAX_BYTES, &text, &len, &e) != 0)
		return;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		struct cn_endpoint_line l;
		struct sockaddr_storage local;
		socklen_t slen = sizeof(local);
		struct cn_peer *p;
		char a[CN_ADDR_TEXT_MAX];
		int ret, fd;

		pos += llen + 1;
		lineno++;
		ret = cn_endpoint_line_parse(line, llen, &l);
		if (ret < 0)
			cn_log_warn("%s: line %zu is not 'name port address'; ignored", path,
				    lineno);
		if (ret != 0)
			continue;
		p = cn_engine_find_name(n->eng, l.name);
		if (!p || p->dsock)
			continue;
		fd = open_local(&l);
		if (fd < 0 || node_direct_adopt(n, p, fd) != 0)
			continue;
		if (getsockname(fd, (struct sockaddr *)&local, &slen) != 0)
			continue;
		cn_addr_format((const struct sockaddr *)&l.remote.ss, a);
		cn_log_info("peer %s: trying the last direct endpoint %s", l.name, a);
		cn_engine_direct_restored(n->eng, p, cn_clock_ms(), &l.remote,
					  (uint16_t)cn_addr_port((const struct sockaddr *)&local));
	}
	free(text);
}
