/* SPDX-License-Identifier: MIT */
/*
 * One set of error codes for every cairn module. Functions return 0 on
 * success and a negative -CN_E* on failure; cn_strerror() names the code.
 *
 * Header-only on purpose: crypto/ may include it without linking anything
 * but libsodium (the dependency rule of docs/DESIGN.md section 2).
 */
#ifndef CN_COMMON_ERR_H
#define CN_COMMON_ERR_H

#include <stdarg.h>
#include <stdio.h>

enum cn_err {
	CN_OK = 0,
	CN_EINVAL,     /* argument out of range, caller bug */
	CN_ENOMEM,     /* allocation failed */
	CN_ESHORT,     /* input shorter than its format requires */
	CN_ETOOBIG,    /* input or output over its cap */
	CN_EFORMAT,    /* malformed input */
	CN_EDECRYPT,   /* AEAD tag or signature check failed */
	CN_EKEY,       /* unusable key (bad encoding, low order point) */
	CN_ESTATE,     /* call not allowed in the current state */
	CN_EREPLAY,    /* replayed or too old message */
	CN_EEXPIRED,   /* key material, session or list past its lifetime */
	CN_EROLLBACK,  /* peer list serial lower than the one held */
	CN_EUNKNOWN,   /* peer or key not known */
	CN_ESIG,       /* signature missing or wrong */
	CN_EIO,	       /* file or system call failed; see errno at the call */
	CN_EPERM,      /* file permissions or ownership unsafe */
	CN_EEXIST,     /* name, key or address already present */
	CN_ENOTFOUND,  /* lookup found nothing */
	CN_EEXHAUSTED, /* counter or address space used up */
	CN_ETIMEDOUT,  /* no answer in time */
	CN_E_MAX_,
};

static inline const char *cn_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case CN_OK:
		return "success";
	case CN_EINVAL:
		return "invalid argument";
	case CN_ENOMEM:
		return "out of memory";
	case CN_ESHORT:
		return "input truncated";
	case CN_ETOOBIG:
		return "input or output too large";
	case CN_EFORMAT:
		return "malformed input";
	case CN_EDECRYPT:
		return "authentication failed";
	case CN_EKEY:
		return "unusable key";
	case CN_ESTATE:
		return "not allowed in this state";
	case CN_EREPLAY:
		return "replayed or stale message";
	case CN_EEXPIRED:
		return "expired";
	case CN_EROLLBACK:
		return "older than the version held (rollback)";
	case CN_EUNKNOWN:
		return "unknown peer or key";
	case CN_ESIG:
		return "bad or missing signature";
	case CN_EIO:
		return "I/O error";
	case CN_EPERM:
		return "unsafe permissions";
	case CN_EEXIST:
		return "already exists";
	case CN_ENOTFOUND:
		return "not found";
	case CN_EEXHAUSTED:
		return "exhausted";
	case CN_ETIMEDOUT:
		return "timed out";
	}
	return "unknown error";
}

/*
 * A precise, one-line, human-readable reason to go with an error code, for
 * inputs whose errors users must fix (peer lists, configs, key files).
 * Never holds secret material.
 */
struct cn_errbuf {
	char msg[256];
};

__attribute__((format(printf, 2, 3))) static inline void cn_errbuf_set(struct cn_errbuf *e,
								       const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

#endif
