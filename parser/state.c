/*
 * Template and options-derived state saved across restarts.
 *
 * File: "NFDSTATE" magic, u32 format version, u32 payload length, the
 * payload, u64 FNV-1a of the payload; all big-endian. Payload: u32 domain
 * count, then per domain: address family (4/6), 16 address bytes, u16
 * source port (version 2 on), proto (1/5/7/9/10/sFlow), u32 domain id, u8
 * flags (1 sampling, 2 sysinit, 4 the exporter is established, 8 no
 * session has claimed it yet: from a version 1 file), u64
 * sampling, u64 sysinit, u8 sampler count + (u64 id, u64 interval) each,
 * u32 name count + (u32 ifindex, u8 len, bytes) each, u32 template count
 * + (u16 id, u8 options, u16 fields + (u32 pen, u16 id, u16 len, u8
 * flags) each) each, oldest first.
 *
 * Version 1 (no port, no flag 4) still loads: its domains are unbound,
 * and the first session (source port) of their exporter, proto and
 * domain id to send claims one.
 *
 * Loading reads through the bounded cursor twice: once to check every
 * byte, once to apply, so a bad file changes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser-private.h"

#define STATE_MAGIC "NFDSTATE"
#define STATE_VERSION 2
#define STATE_VERSION_NOPORT 1
#define STATE_HEADER 16
#define STATE_TRAILER 8
#define STATE_FLAG_SAMPLING 1
#define STATE_FLAG_SYSINIT 2
#define STATE_FLAG_ESTABLISHED 4
#define STATE_FLAG_UNBOUND 8

struct wbuf {
	uint8_t *b;
	size_t len, size;
	bool failed;
};

static void
wput(struct wbuf *w, uint64_t v, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->size) {
		size_t size = w->size ? w->size * 2 : 4096;
		uint8_t *b;

		while (size < w->len + n)
			size *= 2;
		if ((b = realloc(w->b, size)) == NULL) {
			w->failed = true;
			return;
		}
		w->b = b;
		w->size = size;
	}
	for (size_t i = n; i-- > 0;)
		w->b[w->len++] = (uint8_t)(v >> (i * 8));
}

static void
wbytes(struct wbuf *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wput(w, ((const uint8_t *)p)[i], 1);
}

static uint64_t
fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
save_templates(struct wbuf *w, const struct domain *d)
{
	const struct template *t;

	wput(w, d->ntemplates, 4);
	TAILQ_FOREACH_REVERSE(t, &d->templates, template_list, dentry) {
		wput(w, t->key.id, 2);
		wput(w, t->options, 1);
		wput(w, t->nfields, 2);
		for (uint16_t i = 0; i < t->nfields; i++) {
			const struct tfield *f = &t->fields[i];

			wput(w, f->pen, 4);
			wput(w, f->id, 2);
			wput(w, f->len, 2);
			wput(w, f->flags & FLOW_FIELD_SCOPE, 1);
		}
	}
}

static void
save_domain(const struct domain *d, void *arg)
{
	struct wbuf *w = arg;
	const struct parser_exporter *e = d->exp;
	const struct ifname *n;

	wput(w, e->addr.family, 1);
	wbytes(w, e->addr.bytes, 16);
	wput(w, d->port, 2);
	wput(w, d->proto, 1);
	wput(w, d->id, 4);
	wput(w, (d->has_sampling ? STATE_FLAG_SAMPLING : 0) |
	    (d->has_sysinit ? STATE_FLAG_SYSINIT : 0) |
	    (e->cls == CLASS_ESTABLISHED ? STATE_FLAG_ESTABLISHED : 0) |
	    (d->unbound ? STATE_FLAG_UNBOUND : 0), 1);
	wput(w, d->sampling, 8);
	wput(w, (uint64_t)d->sysinit_ms, 8);
	wput(w, d->nsamplers, 1);
	for (size_t i = 0; i < d->nsamplers; i++) {
		wput(w, d->samplers[i].id, 8);
		wput(w, d->samplers[i].interval, 8);
	}
	wput(w, d->nifnames, 4);
	SLIST_FOREACH(n, &d->ifnames, dentry) {
		wput(w, n->index, 4);
		wput(w, n->len, 1);
		wbytes(w, n->name, n->len);
	}
	save_templates(w, d);
}

int
parser_state_encode(const struct parser *p, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };
	size_t payload;

	wbytes(&w, STATE_MAGIC, 8);
	wput(&w, STATE_VERSION, 4);
	wput(&w, 0, 4);
	wput(&w, etable_domain_count(p->exporters), 4);
	etable_each(p->exporters, save_domain, &w);
	payload = w.len - STATE_HEADER;
	if (!w.failed && payload > UINT32_MAX)
		w.failed = true;
	if (!w.failed) {
		for (size_t i = 0; i < 4; i++)
			w.b[12 + i] = (uint8_t)(payload >> (24 - 8 * i));
		wput(&w, fnv1a(w.b + STATE_HEADER, payload), 8);
	}
	if (w.failed) {
		free(w.b);
		return -1;
	}
	*buf = w.b;
	*len = w.len;
	return 0;
}

static void set_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(char **err, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	*err = m;
}

struct loader {
	struct parser *p;
	struct cursor c;
	uint64_t version;
	bool apply;
	const char *why;
};

static bool
rd(struct loader *l, size_t n, uint64_t *v)
{
	if (!cursor_uint(&l->c, n, v)) {
		l->why = "truncated";
		return false;
	}
	return true;
}

static bool
bad(struct loader *l, const char *why)
{
	l->why = why;
	return false;
}

static bool
load_fields(struct loader *l, uint8_t proto, bool options, uint16_t n)
{
	size_t min_len = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct tfield f = { 0 };
		uint64_t pen, id, len, flags;

		if (!rd(l, 4, &pen) || !rd(l, 2, &id) || !rd(l, 2, &len) ||
		    !rd(l, 1, &flags))
			return false;
		if (flags & ~(uint64_t)FLOW_FIELD_SCOPE || id > 0xffff ||
		    (proto == TPROTO_V9 && (len == VARLEN || pen != 0)) ||
		    (proto == TPROTO_IPFIX && id > 0x7fff))
			return bad(l, "bad template field");
		min_len += len == VARLEN ? 1 : len;
		if (!l->apply)
			continue;
		f.pen = (uint32_t)pen;
		f.id = (uint16_t)id;
		f.len = (uint16_t)len;
		f.flags = (uint8_t)flags;
		/* as the decoders classify: v9 scope fields are not IEs */
		if (!(proto == TPROTO_V9 && f.flags & FLOW_FIELD_SCOPE))
			tfield_classify(&f, options);
		l->p->scratch[i] = f;
	}
	return min_len > 0 || bad(l, "empty template");
}

static bool
load_templates(struct loader *l, struct domain *d, uint8_t proto,
    uint32_t domain, const struct parser_addr *addr, uint16_t port)
{
	uint64_t n, id, options, nfields;
	struct tkey key = { .exporter = *addr, .port = port, .domain = domain,
	    .proto = proto };

	if (!rd(l, 4, &n))
		return false;
	if (n > 0 && proto != TPROTO_V9 && proto != TPROTO_IPFIX)
		return bad(l, "templates for a fixed-format version");
	for (uint64_t i = 0; i < n; i++) {
		if (!rd(l, 2, &id) || !rd(l, 1, &options) || !rd(l, 2, &nfields))
			return false;
		if (id < 256 || options > 1 || nfields == 0 ||
		    nfields > l->p->limits.max_fields)
			return bad(l, "bad template");
		if (!load_fields(l, proto, options, (uint16_t)nfields))
			return false;
		key.id = (uint16_t)id;
		if (l->apply && tcache_put(l->p->templates, d, &key, options,
		    l->p->scratch, (uint16_t)nfields) == NULL)
			return bad(l, "out of memory");
		/* the session's own, as when it sent them */
		if (l->apply)
			d->announced = true;
	}
	return true;
}

static bool
load_names(struct loader *l, struct domain *d)
{
	uint64_t n, index, len;
	const uint8_t *name;

	if (!rd(l, 4, &n))
		return false;
	for (uint64_t i = 0; i < n; i++) {
		if (!rd(l, 4, &index) || !rd(l, 1, &len))
			return false;
		if (len == 0 || len > IFNAME_MAX)
			return bad(l, "bad interface name");
		if (!cursor_take(&l->c, len, &name))
			return bad(l, "truncated");
		/* a full table keeps what fits; the exporter resends */
		if (l->apply)
			ifname_set(l->p, d, (uint32_t)index, name, len);
	}
	return true;
}

static bool
load_domain(struct loader *l)
{
	uint64_t family, port = 0, proto, id, flags, sampling, sysinit;
	uint64_t nsamplers;
	struct parser_addr addr = { 0 };
	struct sampler samplers[SAMPLERS_MAX];
	const uint8_t *bytes;
	struct domain *d = NULL;

	if (!rd(l, 1, &family) || !cursor_take(&l->c, 16, &bytes) ||
	    (l->version != STATE_VERSION_NOPORT && !rd(l, 2, &port)) ||
	    !rd(l, 1, &proto) || !rd(l, 4, &id) || !rd(l, 1, &flags) ||
	    !rd(l, 8, &sampling) || !rd(l, 8, &sysinit) || !rd(l, 1, &nsamplers))
		return bad(l, "truncated");
	if ((family != 4 && family != 6) || (proto != 1 && proto != 5 &&
	    proto != 7 && proto != 9 && proto != 10 &&
	    proto != TPROTO_SFLOW) || nsamplers > SAMPLERS_MAX ||
	    flags > (l->version == STATE_VERSION_NOPORT ? 3 : 15))
		return bad(l, "bad exporter entry");
	for (size_t i = 0; i < nsamplers; i++)
		if (!rd(l, 8, &samplers[i].id) || !rd(l, 8, &samplers[i].interval))
			return false;
	if ((flags & STATE_FLAG_SYSINIT) && sysinit > (uint64_t)TIME_MAX_MS)
		return bad(l, "bad system init time");
	addr.family = (uint8_t)family;
	memcpy(addr.bytes, bytes, 16);
	if (l->apply) {
		if ((d = domain_get(l->p, &addr, (uint16_t)port,
		    (uint8_t)proto, (uint32_t)id)) == NULL)
			return bad(l, "out of memory");
		d->unbound = l->version == STATE_VERSION_NOPORT ||
		    (flags & STATE_FLAG_UNBOUND);
		if (flags & STATE_FLAG_ESTABLISHED)
			exporter_restore(l->p, d->exp);
		d->has_sampling = flags & STATE_FLAG_SAMPLING;
		d->sampling = sampling;
		d->has_sysinit = flags & STATE_FLAG_SYSINIT;
		d->sysinit_ms = (int64_t)sysinit;
		d->nsamplers = (uint8_t)nsamplers;
		memcpy(d->samplers, samplers, nsamplers * sizeof(samplers[0]));
	}
	return load_names(l, d) &&
	    load_templates(l, d, (uint8_t)proto, (uint32_t)id, &addr,
	    (uint16_t)port);
}

static bool
load_pass(struct loader *l, const uint8_t *payload, size_t len)
{
	uint64_t n;

	cursor_init(&l->c, payload, len);
	if (!rd(l, 4, &n))
		return false;
	for (uint64_t i = 0; i < n; i++)
		if (!load_domain(l))
			return false;
	return cursor_left(&l->c) == 0 || bad(l, "trailing bytes");
}

int
parser_state_decode(struct parser *p, const uint8_t *buf, size_t len,
    char **err)
{
	struct loader l = { .p = p };
	struct cursor c;
	const uint8_t *magic, *payload;
	uint64_t version, plen, sum;

	cursor_init(&c, buf, len);
	if (!cursor_take(&c, 8, &magic) || memcmp(magic, STATE_MAGIC, 8) != 0) {
		set_err(err, "not a netflowd state file");
		return -1;
	}
	if (!cursor_uint(&c, 4, &version) || (version != STATE_VERSION &&
	    version != STATE_VERSION_NOPORT)) {
		set_err(err, "unsupported state file version");
		return -1;
	}
	if (!cursor_uint(&c, 4, &plen) || !cursor_take(&c, plen, &payload) ||
	    !cursor_uint(&c, 8, &sum) || cursor_left(&c) != 0) {
		set_err(err, "state file truncated or too long");
		return -1;
	}
	if (fnv1a(payload, plen) != sum) {
		set_err(err, "state file checksum mismatch");
		return -1;
	}
	l.version = version;
	if (!load_pass(&l, payload, plen)) {
		set_err(err, "state file corrupt: %s", l.why);
		return -1;
	}
	l.apply = true;
	if (!load_pass(&l, payload, plen)) {
		set_err(err, "cannot load state: %s", l.why);
		return -1;
	}
	return 0;
}
