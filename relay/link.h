/* SPDX-License-Identifier: MIT */
/*
 * The relay link: how a node (or an admin tool) talks to cairn-relay.
 *
 * Layering (docs/RELAY.md):
 *   - A link is a Noise IK session between the node (initiator) and the
 *     relay (responder, key pinned in the signed peer list), using the same
 *     handshake and transport messages as node-to-node sessions
 *     (crypto/handshake.h, crypto/session.h).
 *   - Over UDP one datagram carries one such message. Over TCP each message
 *     is preceded by its length as a u16 big-endian (1..65535 bytes).
 *   - Inside a transport message's plaintext sits one link message, encoded
 *     here: a 1-byte type and a body. Forwarded packets (SEND/RECV) carry an
 *     end-to-end encrypted node-to-node packet the relay cannot read.
 *
 *   type             dir          body
 *   1 SEND           node->relay  dst key(32) | packet(1..CN_LINK_PACKET_MAX)
 *   2 RECV           relay->node  src key(32) | packet(1..CN_LINK_PACKET_MAX)
 *   3 NOT_HERE       relay->node  dst key(32)
 *   4 PRESENCE       relay->node  key(32) | state(1: 0 gone, 1 here)
 *   5 WATCH          node->relay  on(1: 0 or 1): ask for PRESENCE notices (a
 *                                 PRESENCE for every peer here now, then changes)
 *   6 LIST_CHUNK     both         serial(u64be) | total(u32be) | offset(u32be) | data(1..)
 *   7 LIST_RESULT    relay->node  serial(u64be) | status(1, enum cn_link_list_status)
 *   8 PING           both         nonce(8)
 *   9 PONG           both         nonce(8)
 *  10 HAVE_LIST      node->relay  serial(u64be): the peer list serial the node
 *                                 holds; the relay sends its list if newer
 *  11 BYE            node->relay  (empty): the node closes this link (UDP links
 *                                 have no connection whose end says so)
 *  12 PATH_CHALLENGE relay->node  token(8, random): sent to a new source address of
 *                                 a UDP link before the link may move there
 *  13 PATH_RESPONSE  node->relay  token(8): the challenge's token, from the address
 *                                 that received it (path validation, as in QUIC)
 *
 * Keys are Ed25519 public keys, as in the peer list. Every body has an exact
 * or bounded length; trailing bytes are refused.
 *
 * Pure: no sockets, no clock, no logging.
 */
#ifndef CN_RELAY_LINK_H
#define CN_RELAY_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum cn_link_type {
	CN_LINK_SEND = 1,
	CN_LINK_RECV = 2,
	CN_LINK_NOT_HERE = 3,
	CN_LINK_PRESENCE = 4,
	CN_LINK_WATCH = 5,
	CN_LINK_LIST_CHUNK = 6,
	CN_LINK_LIST_RESULT = 7,
	CN_LINK_PING = 8,
	CN_LINK_PONG = 9,
	CN_LINK_HAVE_LIST = 10,
	CN_LINK_BYE = 11,
	CN_LINK_PATH_CHALLENGE = 12,
	CN_LINK_PATH_RESPONSE = 13,
};

enum cn_link_list_status {
	CN_LINK_LIST_ACCEPTED = 0, /* newer list verified and now served */
	CN_LINK_LIST_CURRENT = 1,  /* same serial as the one held */
	CN_LINK_LIST_OLDER = 2,	   /* lower serial: rollback refused */
	CN_LINK_LIST_INVALID = 3,  /* bad signature, malformed or expired */
	CN_LINK_LIST_TOOBIG = 4,
};

enum {
	CN_LINK_KEY_LEN = 32,
	CN_LINK_TOKEN_LEN = 8, /* PATH_CHALLENGE/RESPONSE: 64 random bits, as QUIC's */
	CN_TCP_FRAME_HDR = 2,
	CN_TCP_FRAME_MAX = 65535,
	/* A forwarded packet: what fits in a TCP frame after the transport
	 * header (16), tag (16), link type (1) and key (32). */
	CN_LINK_PACKET_MAX = CN_TCP_FRAME_MAX - 16 - 16 - 1 - CN_LINK_KEY_LEN,
	CN_LINK_CHUNK_HDR = 1 + 8 + 4 + 4,
	CN_LINK_CHUNK_DATA_MAX = 1200, /* fits one UDP datagram on any path */
	CN_LINK_MSG_MAX = 1 + CN_LINK_KEY_LEN + CN_LINK_PACKET_MAX,
};

struct cn_link_msg {
	enum cn_link_type type;
	const uint8_t *key;  /* SEND, RECV, NOT_HERE, PRESENCE; points into the input */
	const uint8_t *data; /* SEND and RECV packet, LIST_CHUNK data */
	size_t data_len;
	uint8_t flag;		/* PRESENCE state, WATCH on, LIST_RESULT status */
	uint64_t serial;	/* LIST_CHUNK, LIST_RESULT */
	uint32_t total, offset; /* LIST_CHUNK */
	uint64_t nonce;		/* PING, PONG */
	const uint8_t *token;	/* PATH_CHALLENGE, PATH_RESPONSE: CN_LINK_TOKEN_LEN bytes */
};

/*
 * Decodes one link message. Pointers in *m point into buf. Returns 0,
 * -CN_ESHORT, -CN_ETOOBIG or -CN_EFORMAT (unknown type, bad flag values,
 * trailing bytes, empty packets, chunk past total).
 */
int cn_link_decode(const uint8_t *buf, size_t len, struct cn_link_msg *m);

/*
 * Encodes *m into out (cap bytes); *out_len gets the length. Returns 0,
 * -CN_ETOOBIG (out too small or packet too big) or -CN_EINVAL.
 */
int cn_link_encode(const struct cn_link_msg *m, uint8_t *out, size_t cap, size_t *out_len);

/*
 * TCP framing. cn_tcp_frame_next looks at the bytes buffered so far: if a
 * whole frame is there, returns 0 and sets *msg and *msg_len to its body and
 * *consumed to header + body; -CN_ESHORT if more bytes are needed;
 * -CN_EFORMAT for a zero-length frame; -CN_ETOOBIG if the announced
 * length exceeds max (the connection is then cut).
 */
int cn_tcp_frame_next(const uint8_t *buf, size_t len, size_t max, const uint8_t **msg,
		      size_t *msg_len, size_t *consumed);
/* Writes the 2-byte header for a body of len bytes (1..CN_TCP_FRAME_MAX). */
int cn_tcp_frame_header(size_t len, uint8_t hdr[static CN_TCP_FRAME_HDR]);

#endif
