/*
 * TLS for stream sessions (RFC 7011 10.4.3) through GnuTLS: one set of
 * credentials per config (certificate, key, and the CAs client
 * certificates must chain to when tls_client_ca is set), shared by the
 * sessions that shook hands with it (counted: a reload that changes the
 * files leaves sessions that are up alone). Non-blocking, on the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stream-private.h"

#ifdef HAVE_GNUTLS
#include <gnutls/gnutls.h>

struct stream_tls_creds {
	gnutls_certificate_credentials_t x;
	bool verify;
	unsigned refs;
};

struct stream_tls {
	gnutls_session_t s;
	struct stream_tls_creds *cr;
};

static void
creds_unref(struct stream_tls_creds *cr)
{
	if (cr == NULL || --cr->refs > 0)
		return;
	gnutls_certificate_free_credentials(cr->x);
	free(cr);
}

int
stream_tls_creds_new(const struct config *config,
    struct stream_tls_creds **out, char **err)
{
	struct stream_tls_creds *cr = calloc(1, sizeof(*cr));
	int rc;

	*out = NULL;
	if (cr == NULL || gnutls_certificate_allocate_credentials(&cr->x) < 0) {
		free(cr);
		return -1;
	}
	cr->refs = 1;
	rc = gnutls_certificate_set_x509_key_file(cr->x, config->tls_certificate,
	    config->tls_key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		if (asprintf(err, "tls_certificate %s, tls_key %s: %s",
		    config->tls_certificate, config->tls_key,
		    gnutls_strerror(rc)) < 0)
			*err = NULL;
		goto fail;
	}
	if (config->tls_client_ca) {
		rc = gnutls_certificate_set_x509_trust_file(cr->x,
		    config->tls_client_ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			if (asprintf(err, "tls_client_ca %s: %s",
			    config->tls_client_ca, rc < 0 ? gnutls_strerror(rc) :
			    "no certificate in it") < 0)
				*err = NULL;
			goto fail;
		}
		cr->verify = true;
	}
	*out = cr;
	return 0;
fail:
	creds_unref(cr);
	return -1;
}

void
stream_tls_creds_free(struct stream_tls_creds *cr)
{
	creds_unref(cr);
}

struct stream_tls *
stream_tls_new(struct stream_tls_creds *cr, int fd)
{
	struct stream_tls *t;

	if (cr == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
		free(t);
		return NULL;
	}
	t->cr = cr;
	cr->refs++;
	if (gnutls_set_default_priority(t->s) < 0 ||
	    gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, cr->x) < 0) {
		stream_tls_free(t);
		return NULL;
	}
	if (cr->verify)
		gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_int(t->s, fd);
	gnutls_handshake_set_timeout(t->s, 0);
	return t;
}

void
stream_tls_free(struct stream_tls *t)
{
	if (t == NULL)
		return;
	gnutls_deinit(t->s);
	creds_unref(t->cr);
	free(t);
}

int
stream_tls_handshake(struct stream_tls *t, const char **err)
{
	unsigned status;
	int rc = gnutls_handshake(t->s);

	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return 0;
	if (rc < 0) {
		*err = gnutls_strerror(rc);
		return -1;
	}
	if (!t->cr->verify)
		return 1;
	/* the chain to tls_client_ca, its dates, its signatures */
	if (gnutls_certificate_verify_peers2(t->s, &status) < 0 || status != 0) {
		*err = "client certificate not trusted (tls_client_ca)";
		return -1;
	}
	return 1;
}

ssize_t
stream_tls_read(struct stream_tls *t, void *buf, size_t len, const char **err)
{
	ssize_t n = gnutls_record_recv(t->s, buf, len);

	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		errno = EAGAIN;
		return -1;
	}
	/* a peer that closes TCP without close_notify: the end all the same
	 * (an IPFIX message cut short shows as unfinished) */
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	*err = gnutls_strerror((int)n);
	errno = EPROTO;
	return -1;
}

bool
stream_tls_pending(struct stream_tls *t)
{
	return gnutls_record_check_pending(t->s) > 0;
}

#else /* !HAVE_GNUTLS */

int
stream_tls_creds_new(const struct config *config,
    struct stream_tls_creds **out, char **err)
{
	(void)config;
	*out = NULL;
	*err = strdup("listen_tls: this netflowd was built without TLS "
	    "(GnuTLS, meson -Dtls=enabled)");
	return -1;
}

void
stream_tls_creds_free(struct stream_tls_creds *cr)
{
	(void)cr;
}

struct stream_tls *
stream_tls_new(struct stream_tls_creds *cr, int fd)
{
	(void)cr;
	(void)fd;
	return NULL;
}

void
stream_tls_free(struct stream_tls *t)
{
	(void)t;
}

int
stream_tls_handshake(struct stream_tls *t, const char **err)
{
	(void)t;
	*err = "built without TLS";
	return -1;
}

ssize_t
stream_tls_read(struct stream_tls *t, void *buf, size_t len, const char **err)
{
	(void)t;
	(void)buf;
	(void)len;
	*err = "built without TLS";
	errno = EPROTO;
	return -1;
}

bool
stream_tls_pending(struct stream_tls *t)
{
	(void)t;
	return false;
}
#endif
