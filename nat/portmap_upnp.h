/* SPDX-License-Identifier: MIT */
/*
 * The UPnP-IGD side of port mapping (portmap.c's; not a public API): one
 * job, a map or a delete, runs on a detached worker thread through
 * miniupnpc, whose calls block for up to seconds (discovery, SOAP).
 *
 * A job is shared by the loop and its worker under the job's mutex, and
 * whoever drops the last reference frees it. The loop fills the inputs
 * before cn_upnp_job_run and reads the outputs only once
 * cn_upnp_job_done (or cn_upnp_job_wait) said the worker finished; the
 * worker then writes a byte to wfd, unless the loop let go first.
 */
#ifndef CN_NAT_PORTMAP_UPNP_H
#define CN_NAT_PORTMAP_UPNP_H

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum {
	CN_UPNP_URL_MAX = 512,
	CN_UPNP_SERVICE_MAX = 256,
	CN_UPNP_CONFLICT_TRIES = 3, /* external ports tried when one is taken */
};

enum cn_upnp_job_op { CN_UPNP_JOB_MAP, CN_UPNP_JOB_DEL };

struct cn_upnp_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;  /* loop + worker */
	bool done; /* worker finished; outputs valid */
	int wfd;   /* pipe to wake the loop; -1 once the loop let go */
	/* inputs */
	enum cn_upnp_job_op op;
	unsigned discover_ms;
	char local_ip[INET_ADDRSTRLEN];
	uint16_t local_port, ext_port;
	uint32_t lease;
	char url[CN_UPNP_URL_MAX];	   /* control URL; empty: discover */
	char service[CN_UPNP_SERVICE_MAX]; /* service type */
	/* outputs */
	int rc; /* 0 or a UPnP/miniupnpc error */
	char ext_ip[INET_ADDRSTRLEN];
	uint16_t got_port;
	uint32_t got_lease;
	char lanaddr[INET_ADDRSTRLEN];
	char why[96];
};

/*
 * A job for op that will wake wfd, with two references: the caller's and
 * the worker's to come. NULL when out of memory.
 */
struct cn_upnp_job *cn_upnp_job_new(enum cn_upnp_job_op op, int wfd);
/* Starts its worker. 0, or -1 with the job freed (no worker, no caller's reference). */
int cn_upnp_job_run(struct cn_upnp_job *j);
/* Whether the worker finished (then the outputs may be read). */
bool cn_upnp_job_done(struct cn_upnp_job *j);
/* Waits until the worker finished or deadline_ms (cn_clock_ms) passed: whether it finished. */
bool cn_upnp_job_wait(struct cn_upnp_job *j, uint64_t deadline_ms);
/* The loop lets go: the worker no longer writes to wfd; the last reference frees the job. */
void cn_upnp_job_release(struct cn_upnp_job *j);

#endif
