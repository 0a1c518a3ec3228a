/* SPDX-License-Identifier: MIT */
/* UPnP-IGD port mapping jobs on a worker thread, through miniupnpc (see portmap_upnp.h). */
#include "nat/portmap_upnp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "common/clock.h"

static void job_unref(struct cn_upnp_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (last) {
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->cv);
		free(j);
	}
}

static const char *upnp_err(int r)
{
	const char *s = strupnperror(r);

	return s ? s : "unknown error";
}

static int upnp_urls(struct cn_upnp_job *j, struct UPNPUrls *urls, struct IGDdatas *data)
{
	struct UPNPDev *devs;
	int err = 0, r;

	devs = upnpDiscover((int)j->discover_ms, j->local_ip[0] ? j->local_ip : NULL, NULL,
			    UPNP_LOCAL_PORT_ANY, 0, 2, &err);
	if (!devs) {
		snprintf(j->why, sizeof(j->why), "no UPnP device answered (%d)", err);
		return -1;
	}
#if MINIUPNPC_API_VERSION >= 18
	r = UPNP_GetValidIGD(devs, urls, data, j->lanaddr, sizeof(j->lanaddr), NULL, 0);
#else
	r = UPNP_GetValidIGD(devs, urls, data, j->lanaddr, sizeof(j->lanaddr));
#endif
	freeUPNPDevlist(devs);
	/* 1: a connected IGD. 2: an IGD that says it is not connected, or
	 * (miniupnpc >= 2.2) whose external address is a reserved one, as
	 * behind carrier-grade NAT or in the lab: its mapping is still worth
	 * asking for, AddPortMapping tells. 3: not an IGD. */
	if (r != 1 && r != 2) {
		if (r != 0)
			FreeUPNPUrls(urls);
		snprintf(j->why, sizeof(j->why), "no IGD (%d)", r);
		return -1;
	}
	if (!urls->controlURL || strlen(urls->controlURL) >= sizeof(j->url) ||
	    strlen(data->first.servicetype) >= sizeof(j->service)) {
		FreeUPNPUrls(urls);
		snprintf(j->why, sizeof(j->why), "IGD URLs too long");
		return -1;
	}
	return 0;
}

static void upnp_map(struct cn_upnp_job *j)
{
	struct UPNPUrls urls = {0};
	struct IGDdatas data;
	char inport[8], extport[8], lease[16];
	uint16_t want = j->ext_port ? j->ext_port : j->local_port;
	int r = -1;

	memset(&data, 0, sizeof(data));
	if (upnp_urls(j, &urls, &data) != 0) {
		j->rc = -1;
		return;
	}
	snprintf(j->url, sizeof(j->url), "%s", urls.controlURL);
	snprintf(j->service, sizeof(j->service), "%s", data.first.servicetype);
	FreeUPNPUrls(&urls);
	r = UPNP_GetExternalIPAddress(j->url, j->service, j->ext_ip);
	if (r != 0) {
		snprintf(j->why, sizeof(j->why), "GetExternalIPAddress: %s", upnp_err(r));
		j->rc = r;
		return;
	}
	snprintf(inport, sizeof(inport), "%u", j->local_port);
	snprintf(lease, sizeof(lease), "%u", j->lease);
	for (int i = 0; i < CN_UPNP_CONFLICT_TRIES; i++) {
		snprintf(extport, sizeof(extport), "%u", want);
		r = UPNP_AddPortMapping(j->url, j->service, extport, inport, j->lanaddr, "cairn",
					"UDP", NULL, lease);
		if (r == 725 && strcmp(lease, "0") != 0) { /* OnlyPermanentLeasesSupported */
			snprintf(lease, sizeof(lease), "0");
			i--;
			continue;
		}
		if (r != 718) /* ConflictInMappingEntry: another port */
			break;
		want = (uint16_t)(1024 + arc4random_uniform(65536 - 1024));
	}
	if (r != 0) {
		snprintf(j->why, sizeof(j->why), "AddPortMapping: %s", upnp_err(r));
		j->rc = r;
		return;
	}
	j->got_port = want;
	j->got_lease = (uint32_t)strtoul(lease, NULL, 10);
	j->rc = 0;
}

static void upnp_del(struct cn_upnp_job *j)
{
	char extport[8];

	snprintf(extport, sizeof(extport), "%u", j->ext_port);
	j->rc = UPNP_DeletePortMapping(j->url, j->service, extport, "UDP", NULL);
	if (j->rc != 0)
		snprintf(j->why, sizeof(j->why), "DeletePortMapping: %s", upnp_err(j->rc));
}

static void *upnp_worker(void *arg)
{
	struct cn_upnp_job *j = arg;
	const char one = 1;

	if (j->op == CN_UPNP_JOB_MAP)
		upnp_map(j);
	else
		upnp_del(j);
	pthread_mutex_lock(&j->mu);
	j->done = true;
	if (j->wfd >= 0)
		(void)!write(j->wfd, &one, 1);
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	return NULL;
}

struct cn_upnp_job *cn_upnp_job_new(enum cn_upnp_job_op op, int wfd)
{
	struct cn_upnp_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->refs = 2;
	j->wfd = wfd;
	j->op = op;
	return j;
}

int cn_upnp_job_run(struct cn_upnp_job *j)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, upnp_worker, j);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		j->refs = 1;
		job_unref(j);
		return -1;
	}
	return 0;
}

bool cn_upnp_job_done(struct cn_upnp_job *j)
{
	bool done;

	pthread_mutex_lock(&j->mu);
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	return done;
}

bool cn_upnp_job_wait(struct cn_upnp_job *j, uint64_t deadline_ms)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's clock */
	{
		uint64_t now = cn_clock_ms(), left = deadline_ms > now ? deadline_ms - now : 0;

		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) != 0)
			break;
	done = j->done;
	pthread_mutex_unlock(&j->mu);
	return done;
}

void cn_upnp_job_release(struct cn_upnp_job *j)
{
	pthread_mutex_lock(&j->mu);
	j->wfd = -1;
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
}
