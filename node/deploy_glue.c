/* SPDX-License-Identifier: MIT */
/*
 * The deploy listener's glue (node_int.h, docs/DEPLOY.md): where it
 * listens (this node's overlay IPv4 address, bound to the TUN) and who may
 * deploy (the peer the overlay source address names, when one of its
 * groups is configured).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "deploy/server.h"
#include "node/node_int.h"

/*
 * Who is behind a TCP connection to the deploy listener: the overlay source
 * address names the peer (cryptokey routing: only that peer's session may
 * send from it); it may deploy when one of its groups is configured.
 */
static int deploy_auth(void *ctx, const struct sockaddr *sa, socklen_t len,
		       struct cn_deployd_peer *out)
{
	struct cn_node *n = ctx;
	const struct cn_pl_peer *pp = NULL;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		pp = cn_peerlist_find_ip4(
			n->pl, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		pp = cn_peerlist_find_ip6(n->pl,
					  ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	if (!pp)
		return -CN_ENOTFOUND;
	snprintf(out->name, sizeof(out->name), "%s", pp->name);
	memcpy(out->key, pp->key, CN_KEY_LEN);
	for (unsigned int i = 0; i < n->cfg.ndeploy_groups; i++)
		out->allowed |= cn_peer_in_group(pp, n->cfg.deploy_groups[i]);
	return 0;
}

/* The deploy listener on this node's overlay IPv4 address, once the TUN is up. */
int node_deploy_open(struct cn_node *n, struct cn_errbuf *e)
{
	struct cn_deployd_config dc;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&dc.listen.ss;

	memset(&dc, 0, sizeof(dc));
	dc.listen.len = sizeof(*s4);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)n->cfg.deploy_port);
	memcpy(&s4->sin_addr, n->self_ip4, 4);
	if (n->cfg.deploy_dir[0])
		snprintf(dc.dir, sizeof(dc.dir), "%s", n->cfg.deploy_dir);
	else if (snprintf(dc.dir, sizeof(dc.dir), "%s/deploy", n->cfg.state_dir) >=
		 (int)sizeof(dc.dir)) {
		cn_errbuf_set(e, "deploy: state directory name too long");
		return -CN_EINVAL;
	}
	snprintf(dc.hook, sizeof(dc.hook), "%s", n->cfg.deploy_hook);
	snprintf(dc.hook_user, sizeof(dc.hook_user), "%s", n->cfg.deploy_hook_user);
	snprintf(dc.ifname, sizeof(dc.ifname), "%s", n->tun_name);
	snprintf(dc.self, sizeof(dc.self), "%s", n->self_name);
	dc.keep = n->cfg.deploy_keep;
	dc.max_size = (uint64_t)n->cfg.deploy_max_mb << 20;
	dc.hook_timeout_s = n->cfg.deploy_hook_timeout;
	n->deployd = cn_deployd_new(n->base, &dc, deploy_auth, n, e);
	return n->deployd ? 0 : -CN_EIO;
}
