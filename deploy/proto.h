/* SPDX-License-Identifier: MIT */
/*
 * The deploy protocol over one TCP connection to a node's overlay address
 * (port 7946 by default). Pure codec: frames in caller buffers, no sockets.
 *
 * Every message is a frame: u8 type, u32 payload length (big-endian), then
 * the payload; lengths over the type's cap are refused before any
 * allocation. A connection carries one request:
 *
 *   client                              node
 *   PUSH(flags, signed manifest)  ->
 *                                 <-    ACCEPT(offset)   or RESULT(error)
 *   DATA(bytes from offset) ...   ->
 *                                 <-    RESULT(status, hook exit, message, output tail)
 *
 *   LIST(app or "")               ->
 *                                 <-    LIST_REPLY(entries) or RESULT(error)
 *
 *   ROLLBACK(app, version or "")  ->
 *                                 <-    RESULT
 *
 * Payloads (docs/DEPLOY.md has every byte):
 *   PUSH        u8 protocol version (1), u8 flags (bit 0: activate),
 *               u16 manifest length, manifest
 *   ACCEPT      u64 offset: bytes the node already holds (resume)
 *   DATA        1..CN_DPROTO_DATA_MAX artifact bytes
 *   RESULT      u8 status, u8 hook ran (0/1), i32 hook exit status,
 *               u16 length + message (printable ASCII), u16 length + output tail
 *   LIST        u8 protocol version, u8 length + app (0: all)
 *   LIST_REPLY  u16 count, then per entry: u8 length + app, u8 length +
 *               version, u64 size, 32 hash, i64 time, u8 flags (bit 0: current)
 *   ROLLBACK    u8 protocol version, u8 length + app, u8 length + version (0: previous)
 */
#ifndef CN_DEPLOY_PROTO_H
#define CN_DEPLOY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "deploy/manifest.h"

enum {
	CN_DPROTO_VERSION = 1,
	CN_DPROTO_PORT = 7946,
	CN_DPROTO_HDR = 5,
	CN_DPROTO_DATA_MAX = 65536,
	CN_DPROTO_MSG_MAX = 255,
	CN_DPROTO_TAIL_MAX = 4096,
	CN_DPROTO_LIST_MAX = 256, /* entries in one LIST_REPLY */
	CN_DPROTO_ENTRY_MAX =
		1 + CN_DEPLOY_APP_MAX + 1 + CN_DEPLOY_VERSION_MAX + 8 + CN_DEPLOY_HASH_LEN + 8 + 1,
	CN_DPROTO_PAYLOAD_MAX = CN_DPROTO_DATA_MAX, /* the largest payload of any type */
	CN_DPROTO_FRAME_MAX = CN_DPROTO_HDR + CN_DPROTO_PAYLOAD_MAX,
};

_Static_assert(2 + CN_DPROTO_LIST_MAX * CN_DPROTO_ENTRY_MAX <= CN_DPROTO_PAYLOAD_MAX,
	       "a full LIST_REPLY fits");

enum cn_dproto_type {
	CN_DPROTO_PUSH = 1,
	CN_DPROTO_ACCEPT = 2,
	CN_DPROTO_DATA = 3,
	CN_DPROTO_RESULT = 4,
	CN_DPROTO_LIST = 5,
	CN_DPROTO_LIST_REPLY = 6,
	CN_DPROTO_ROLLBACK = 7,
};

enum cn_dproto_status {
	CN_DSTATUS_OK = 0,
	CN_DSTATUS_REFUSED = 1,	  /* peer not allowed to deploy */
	CN_DSTATUS_BAD_SIG = 2,	  /* manifest not signed by the connecting peer */
	CN_DSTATUS_BAD_HASH = 3,  /* bytes do not match the manifest */
	CN_DSTATUS_IO = 4,	  /* storage failed (disk full, ...) */
	CN_DSTATUS_HOOK = 5,	  /* activation hook failed; previous version restored */
	CN_DSTATUS_NOTFOUND = 6,  /* no such app or version */
	CN_DSTATUS_BAD_REQ = 7,	  /* malformed or unexpected message */
	CN_DSTATUS_BUSY = 8,	  /* another push or rollback is running */
	CN_DSTATUS_TOO_BIG = 9,	  /* over the node's size limit */
	CN_DSTATUS_CONFLICT = 10, /* version exists with other content */
	CN_DSTATUS_MAX_,
};

struct cn_dproto_push {
	bool activate;
	const uint8_t *manifest; /* points into the frame */
	size_t manifest_len;
};

struct cn_dproto_result {
	uint8_t status; /* enum cn_dproto_status */
	bool hook_ran;
	int32_t hook_exit; /* exit code, or 128 + signal */
	char msg[CN_DPROTO_MSG_MAX + 1];
	uint8_t tail[CN_DPROTO_TAIL_MAX];
	size_t tail_len;
};

struct cn_dproto_entry {
	char app[CN_DEPLOY_APP_MAX + 1];
	char version[CN_DEPLOY_VERSION_MAX + 1];
	uint64_t size;
	uint8_t hash[CN_DEPLOY_HASH_LEN];
	int64_t time;
	bool current;
};

/* app and version are "" when absent (LIST all; ROLLBACK to previous). */
struct cn_dproto_req {
	char app[CN_DEPLOY_APP_MAX + 1];
	char version[CN_DEPLOY_VERSION_MAX + 1];
};

/*
 * Looks at the start of a stream. 0: a whole frame is there, *type and
 * *payload_len set (frame size CN_DPROTO_HDR + *payload_len); -CN_ESHORT:
 * read more; -CN_ETOOBIG: the length is over the type's cap;
 * -CN_EFORMAT: unknown type. Callers drop the connection on errors.
 */
int cn_dproto_peek(const uint8_t *buf, size_t len, uint8_t *type, size_t *payload_len);
/* Writes a frame header for a payload of len bytes. */
void cn_dproto_header(uint8_t hdr[static CN_DPROTO_HDR], uint8_t type, size_t len);

/*
 * Encoders write a whole frame (header and payload) into out[cap] and set
 * *len; -CN_ETOOBIG when it does not fit, -CN_EINVAL for invalid fields.
 * Decoders take a payload (without the header), refuse trailing bytes
 * (-CN_EFORMAT) and short input (-CN_ESHORT).
 */
int cn_dproto_push_encode(const struct cn_dproto_push *p, uint8_t *out, size_t cap, size_t *len);
int cn_dproto_push_decode(const uint8_t *p, size_t n, struct cn_dproto_push *out);
int cn_dproto_accept_encode(uint64_t offset, uint8_t *out, size_t cap, size_t *len);
int cn_dproto_accept_decode(const uint8_t *p, size_t n, uint64_t *offset);
int cn_dproto_result_encode(const struct cn_dproto_result *r, uint8_t *out, size_t cap,
			    size_t *len);
int cn_dproto_result_decode(const uint8_t *p, size_t n, struct cn_dproto_result *out);
int cn_dproto_list_encode(const struct cn_dproto_req *r, uint8_t *out, size_t cap, size_t *len);
int cn_dproto_list_decode(const uint8_t *p, size_t n, struct cn_dproto_req *out);
int cn_dproto_rollback_encode(const struct cn_dproto_req *r, uint8_t *out, size_t cap, size_t *len);
int cn_dproto_rollback_decode(const uint8_t *p, size_t n, struct cn_dproto_req *out);
int cn_dproto_list_reply_encode(const struct cn_dproto_entry *e, size_t count, uint8_t *out,
				size_t cap, size_t *len);
/* Fills up to cap entries; more than cap in the payload is -CN_ETOOBIG. */
int cn_dproto_list_reply_decode(const uint8_t *p, size_t n, struct cn_dproto_entry *out, size_t cap,
				size_t *count);

/* A short name for a status ("ok", "refused", ...). */
const char *cn_dproto_status_name(uint8_t status);
/* Sets r's message to printable ASCII (others become '?'), truncated. */
void cn_dproto_result_set_msg(struct cn_dproto_result *r, const char *msg);

#endif
