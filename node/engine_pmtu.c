/* SPDX-License-Identifier: MIT */
/*
 * Path MTU per path to a peer (engine.h, node/pmtu.h): packetization-layer
 * PMTU discovery (RFC 8899) with padded PMTU_PROBE control messages inside
 * the session, so a path that drops large packets without any ICMP is
 * found out, and TCP MSS clamping of SYNs entering the TUN to what the
 * path in use carries.
 *
 *   relay   searched while a session is up, over the relay slot in use; a
 *           new search when the peer's traffic moves to another relay;
 *   direct  searched from the moment the direct path is up until it is lost;
 *   TURN    not probed: taken to carry what the relay path carries.
 *
 * A probe goes over exactly one path (its own, never the best one), and
 * its ack may come back over any: the wire id is the state machine's id
 * plus that search's random salt, which names the path. The answer to a
 * probe goes back the way the probe came (direct: to its source), since
 * that path is up. Probes are not data: their loss moves nothing but the
 * search (pmtu.h).
 *
 * Sizes are session plaintext sizes, as for the TUN's packets, so the
 * PLPMTU is directly the largest IP packet the path takes; the MSS is that
 * minus 40 (IPv4) or 60 (IPv6) bytes of IP and TCP headers.
 */
#include "node/engine.h"

#include <sodium.h>

#include "common/err.h"
#include "crypto/session.h"
#include "node/engine_int.h"
#include "node/mssclamp.h"

static bool pmtu_on(const struct cn_peer *p)
{
	return p->e->cfg.mtu >= CN_ENGINE_PMTU_BASE;
}

void eng_pmtu_start(struct cn_peer *p, enum cn_ctl_path path, uint64_t now)
{
	if (!pmtu_on(p) || path > CN_CTL_PATH_DIRECT)
		return;
	cn_pmtu_init(&p->pmtu[path], CN_ENGINE_PMTU_BASE, p->e->cfg.mtu, now);
	p->pmtu_salt[path] = randombytes_random();
	p->pmtu_next_ms[path] = now;
	if (path == CN_CTL_PATH_RELAY)
		p->pmtu_relay = p->relay_hint;
}

void eng_pmtu_stop(struct cn_peer *p, enum cn_ctl_path path)
{
	if (path > CN_CTL_PATH_DIRECT)
		return;
	cn_pmtu_disable(&p->pmtu[path]);
	p->pmtu_next_ms[path] = 0;
}

uint16_t cn_engine_path_mtu(const struct cn_peer *p, enum cn_ctl_path path)
{
	if (!pmtu_on(p))
		return p->e->cfg.mtu;
	if (path == CN_CTL_PATH_TURN)
		path = CN_CTL_PATH_RELAY;
	if (path > CN_CTL_PATH_DIRECT || p->pmtu[path].state == CN_PMTU_DISABLED)
		return CN_ENGINE_PMTU_BASE;
	return cn_pmtu_current(&p->pmtu[path]);
}

uint64_t eng_pmtu_deadline(const struct cn_peer *p)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i <= CN_CTL_PATH_DIRECT; i++)
		if (p->pmtu_next_ms[i] && p->pmtu_next_ms[i] < t)
			t = p->pmtu_next_ms[i];
	return t;
}

/* Encrypts a control message and sends it over `path` only. */
static void send_on(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m,
		    enum cn_ctl_path path, const struct cn_addr *to)
{
	struct cn_engine *e = p->e;
	struct cn_session *s = cn_keyring_sending(&p->keys, now);
	uint8_t buf[CN_CTL_MSG_MAX];
	size_t len = 0, out_len = 0;

	if (!s || cn_ctl_encode(m, buf, sizeof(buf), &len) != 0 ||
	    cn_session_encrypt(s, now, buf, len, e->out, sizeof(e->out), &out_len) != 0)
		return;
	if (path == CN_CTL_PATH_DIRECT) {
		uint64_t tx = p->d_last_tx_ms;

		eng_direct_send(p, now, to, e->out, out_len);
		/* A probe may be lost by design: it must not stand in for the
		 * keepalive that keeps the peer's side of the path alive. */
		if (m->type == CN_CTL_PMTU_PROBE)
			p->d_last_tx_ms = tx;
	} else
		eng_relay_send(p, e->out, out_len);
}

void eng_pmtu_tick(struct cn_peer *p, uint64_t now)
{
	/* The relay path is the relay slot in use: another one is another path. */
	if (p->pmtu[CN_CTL_PATH_RELAY].state != CN_PMTU_DISABLED && p->relay_hint >= 0 &&
	    p->relay_hint != p->pmtu_relay)
		eng_pmtu_start(p, CN_CTL_PATH_RELAY, now);
	for (int i = 0; i <= CN_CTL_PATH_DIRECT; i++) {
		struct cn_pmtu_probe pr;

		if (!p->pmtu_next_ms[i] || now < p->pmtu_next_ms[i])
			continue;
		p->pmtu_next_ms[i] = cn_pmtu_next(&p->pmtu[i], now, &pr);
		if (pr.send) {
			struct cn_ctl_msg m = {.type = CN_CTL_PMTU_PROBE,
					       .pmtu_id = pr.id + p->pmtu_salt[i],
					       .size = pr.size};

			send_on(p, now, &m, (enum cn_ctl_path)i, &p->dremote);
		}
	}
}

void eng_pmtu_on_probe(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m,
		       enum cn_ctl_path via, const struct cn_addr *src)
{
	struct cn_ctl_msg ack = {.type = CN_CTL_PMTU_ACK, .pmtu_id = m->pmtu_id, .size = m->size};

	if (via == CN_CTL_PATH_DIRECT && src)
		send_on(p, now, &ack, CN_CTL_PATH_DIRECT, src);
	else if (via == CN_CTL_PATH_RELAY)
		send_on(p, now, &ack, CN_CTL_PATH_RELAY, NULL);
	else
		eng_send_ctl(p, now, &ack);
}

void eng_pmtu_on_ack(struct cn_peer *p, uint64_t now, const struct cn_ctl_msg *m)
{
	for (int i = 0; i <= CN_CTL_PATH_DIRECT; i++) {
		uint16_t before = cn_pmtu_current(&p->pmtu[i]);

		if (p->pmtu[i].state == CN_PMTU_DISABLED ||
		    cn_pmtu_on_ack(&p->pmtu[i], m->pmtu_id - p->pmtu_salt[i], m->size, now) != 0)
			continue;
		p->pmtu_next_ms[i] = now; /* the next probe, or the next deadline */
		if (cn_pmtu_current(&p->pmtu[i]) != before)
			eng_log(p->e, CN_LOG_DEBUG, false, "peer %s: %s path carries %u bytes",
				p->name, cn_engine_path_name((enum cn_ctl_path)i),
				cn_pmtu_current(&p->pmtu[i]));
		if (p->pmtu[i].state == CN_PMTU_SEARCH_COMPLETE)
			eng_log(p->e, CN_LOG_INFO, false, "peer %s: %s path MTU %u", p->name,
				cn_engine_path_name((enum cn_ctl_path)i),
				cn_pmtu_current(&p->pmtu[i]));
		eng_peer_changed(p, now);
		return;
	}
}

void eng_pmtu_clamp(struct cn_peer *p, uint8_t *pkt, size_t len, int ip_version)
{
	enum cn_ctl_path path = p->direct_up ? CN_CTL_PATH_DIRECT : CN_CTL_PATH_RELAY;
	uint16_t mtu;

	if (!pmtu_on(p))
		return;
	mtu = cn_engine_path_mtu(p, path);
	cn_mss_clamp(pkt, len, (uint16_t)(mtu - (ip_version == 4 ? 40 : 60)));
}
