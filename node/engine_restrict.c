/* SPDX-License-Identifier: MIT */
/*
 * Clock rule 3 (docs/NODE.md "Clock"), the engine's part: after the grace
 * period of an expired peer list the node keeps only its relay links and
 * its control socket (both outside the engine). Here: every peer session
 * is closed at once (keys wiped, staged packets dropped, ICE, birthday and
 * path MTU stopped) and, while the restriction lasts, no initiation is
 * sent (eng_initiate, eng_send_initiation) or answered (eng_restricted in
 * rx_initiation) and packets for peers are dropped instead of staged.
 * One log line per peer per hour says so. The shell drives it from its
 * list state (node/list.c); a newer valid list lifts it at once.
 * Part of the engine: pure, no clock.
 */
#include "node/engine.h"

#include "node/engine_int.h"

enum { RESTRICT_LOG_MS = 3600 * 1000 };

/* At most one line per peer per RESTRICT_LOG_MS. */
static void restrict_log(struct cn_peer *p, uint64_t now, const char *what)
{
	if (p->restrict_log_ms && now < p->restrict_log_ms)
		return;
	p->restrict_log_ms = now + RESTRICT_LOG_MS;
	eng_log(p->e, CN_LOG_WARN, false,
		"peer %s: %s: the peer list expired and its grace period is over", p->name, what);
}

bool eng_restricted(struct cn_peer *p, uint64_t now, const char *what)
{
	if (!p->e->restricted)
		return false;
	p->e->m.drop_restricted++;
	restrict_log(p, now, what);
	return true;
}

static void close_peer(struct cn_peer *p, uint64_t now)
{
	bool had = cn_peer_has_session(p, now) || cn_keyring_pending(&p->keys) || p->nstaged;

	cn_keyring_clear(&p->keys);
	eng_drop_staged(p);
	eng_ice_stop(p);
	eng_bday_stop(p);
	if (p->direct_up) {
		p->direct_up = false;
		eng_pmtu_stop(p, CN_CTL_PATH_DIRECT);
		p->e->m.path_changes++;
	}
	p->ice_next_ms = 0;
	p->ice_backoff_ms = 0;
	cn_pathwatch_end(&p->dwatch);
	p->rx_stream = false;
	p->challenge_id = 0;
	if (had)
		restrict_log(p, now, "session closed");
}

void cn_engine_set_restricted(struct cn_engine *e, bool restricted, uint64_t now)
{
	if (restricted == e->restricted)
		return;
	e->restricted = restricted;
	for (size_t i = 0; i < e->npeers; i++) {
		struct cn_peer *p = e->peers[i];

		p->restrict_log_ms = 0;
		if (restricted)
			close_peer(p, now);
		eng_peer_changed(p, now);
	}
}

bool cn_engine_restricted(const struct cn_engine *e)
{
	return e->restricted;
}
