/* SPDX-License-Identifier: MIT */
/*
 * Whether the relay is still there (relay_client_int.h): the link's one
 * timer, armed to its next deadline (keepalive, silence rule, a lost
 * initiation's retry), and the fast-failure watch (common/pathwatch.h)
 * that ends a link whose relay stopped answering within max(300 ms, 3 RTT)
 * under traffic, or of the next keepalive of an idle UDP link
 * (relay_client.h).
 */
#include <stdio.h>
#include <time.h>

#include "common/clock.h"
#include "crypto/session.h"
#include "relay/relay_client_int.h"

static uint64_t rtt_ms(const struct cn_relay_client *c)
{
	return c->rtt_us / 1000;
}

void client_probe_arm(struct cn_relay_client *c, uint64_t at, uint64_t now)
{
	uint64_t ms = at > now ? at - now : 0;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_add(c->probe_ev, &tv);
}

/* Something authentic arrived: the relay is there, no probe is needed. */
void client_heard(struct cn_relay_client *c, uint64_t now)
{
	c->last_rx_ms = now;
	if (c->watch.on) {
		cn_pathwatch_end(&c->watch);
		event_del(c->probe_ev);
	}
}

/*
 * After a SEND: when nothing has come back for a while, the relay (or the
 * path to it) may be gone while this node pushes traffic into it. The
 * watch (common/pathwatch.h) waits for the SEND's own answer, then PINGs,
 * again half way, and client_probe_cb ends the link if nothing at all is
 * answered: well under a second instead of DEAD_MS. An idle link's
 * keepalive PING starts the same watch at once (probe_idle).
 */
void client_maybe_probe(struct cn_relay_client *c, uint64_t now)
{
	if (!cn_pathwatch_sent(&c->watch, now, c->last_rx_ms, rtt_ms(c)))
		return;
	c->probe_idle = false;
	client_probe_arm(c, cn_pathwatch_deadline(&c->watch, rtt_ms(c)), now);
}

static void probe_idle_link(struct cn_relay_client *c, uint64_t now)
{
	cn_pathwatch_start_probed(&c->watch, now);
	c->probe_idle = true;
	(void)cn_relay_client_ping(c);
	client_probe_arm(c, cn_pathwatch_deadline(&c->watch, rtt_ms(c)), now);
}

void client_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay_client *c = arg;
	uint64_t now = cn_clock_ms(), since;
	enum cn_pathwatch_act act;
	char why[96];

	(void)fd;
	(void)what;
	if (c->state == CLIENT_HANDSHAKE && c->hs_retry_ms) {
		/* A lost first initiation (or response) costs 250 ms, not 5 s. */
		if (c->hs_retry_ms >= CN_SESSION_REKEY_TIMEOUT_MS)
			return; /* the tick's regular retry from here on */
		if (client_send_initiation(c) == 0) {
			c->hs_retry_ms *= 2;
			client_probe_arm(c, now + c->hs_retry_ms, now);
		}
		return;
	}
	if (!c->watch.on || c->state != CLIENT_UP)
		return;
	since = now - c->watch.start_ms;
	act = cn_pathwatch_tick(&c->watch, now, rtt_ms(c));
	if (act == CN_PATHWATCH_PROBE)
		(void)cn_relay_client_ping(c);
	if (act != CN_PATHWATCH_LOST) {
		client_probe_arm(c, cn_pathwatch_deadline(&c->watch, rtt_ms(c)), now);
		return;
	}
	c->probe_failures++;
	snprintf(why, sizeof(why), "nothing back within %llu ms %s, probes included",
		 (unsigned long long)since,
		 c->probe_idle ? "of the idle link's keepalive" : "while carrying traffic");
	/* The owner may free the client from its down callback. */
	c->in_callback = true;
	client_go_down(c, why);
	c->in_callback = false;
	if (c->free_pending)
		cn_relay_client_free(c);
}

/*
 * When client_tick_cb next has something to do: a lost initiation's retry, the
 * keepalive, the silence rule. Each of these deadlines only moves later
 * after it is computed (a send or receive pushes it), except a new
 * initiation's retry, which is REKEY_TIMEOUT away and so never before a
 * tick already armed; the rekey rules (minutes away) are looked at on
 * every tick, at least every KEEPALIVE_MS.
 */
void client_tick_arm(struct cn_relay_client *c, uint64_t now)
{
	uint64_t at = now + KEEPALIVE_MS, ms;
	struct timeval tv;

	if (cn_keyring_pending(&c->keys) && c->hs_sent_ms + CN_SESSION_REKEY_TIMEOUT_MS < at)
		at = c->hs_sent_ms + CN_SESSION_REKEY_TIMEOUT_MS;
	if (c->state == CLIENT_UP) {
		if (c->last_tx_ms + KEEPALIVE_MS < at)
			at = c->last_tx_ms + KEEPALIVE_MS;
		if (c->last_rx_ms + DEAD_MS + 1 < at)
			at = c->last_rx_ms + DEAD_MS + 1;
	}
	ms = at > now + TICK_MIN_MS ? at - now : TICK_MIN_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_base_update_cache_time(
		c->base); /* measured from now, not the loop's wake (timers.c) */
	event_add(c->tick, &tv);
}

static void tick_run(struct cn_relay_client *c, uint64_t now)
{
	if (c->overflow) {
		client_go_down(c, "the relay stopped reading (output queue full)");
		return;
	}
	if (cn_keyring_pending(&c->keys) && now - c->hs_sent_ms >= CN_SESSION_REKEY_TIMEOUT_MS) {
		if (c->state == CLIENT_HANDSHAKE && now - c->hs_sent_ms > DEAD_MS) {
			client_go_down(c, "no handshake response from the relay");
			return;
		}
		/* Lost initiation or response: a fresh one (new timestamp). */
		if (client_send_initiation(c))
			client_go_down(c, "cannot start the handshake");
		return;
	}
	if (c->state != CLIENT_UP)
		return;
	if (now - c->last_rx_ms > DEAD_MS) {
		client_go_down(c, "relay stopped answering");
		return;
	}
	cn_keyring_expire(&c->keys, now);
	if (!cn_keyring_pending(&c->keys) && c->keys.cur &&
	    (cn_session_should_rekey_on_send(c->keys.cur, now) ||
	     cn_session_should_rekey_on_receive(c->keys.cur, now))) {
		(void)client_send_initiation(c);
		return;
	}
	if (now - c->last_tx_ms >= KEEPALIVE_MS) {
		/*
		 * Over UDP the keepalive is a probe as well: a relay that
		 * restarted (it drops this link's messages, for it forgot the
		 * session) or went silent is found within the probe bound of the
		 * next keepalive, not after DEAD_MS. Over TCP a restart resets
		 * the connection, and an idle link keeps the DEAD_MS rule.
		 */
		if (!c->watch.on && !c->bev)
			probe_idle_link(c, now);
		else
			(void)cn_relay_client_ping(c);
	}
}

void client_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cn_relay_client *c = arg;
	uint64_t now = cn_clock_ms();

	(void)fd;
	(void)what;
	c->wakeups++;
	tick_run(c, now);
	if (c->state != CLIENT_DOWN)
		client_tick_arm(c, cn_clock_ms());
}
