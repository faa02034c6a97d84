#include "query.h"

#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bigmem.h"
#include "bytes.h"
#include "counter.h"
#include "filter.h"
#include "format.h"
#include "geodb.h"
#include "intern.h"
#include "oatab.h"
#include "reader.h"
#include "record.h"
#include "sources.h"
#include "stats.h"
#include "timeutil.h"

#define MAX_THREADS 256
#define MAX_AGG_KEYS 16

/* ---- key elements (nfdump's -A names; the -s types map onto them) ---- */

enum elem {
	E_SRCIP, E_DSTIP, E_SRCPORT, E_DSTPORT, E_PROTO, E_SRCAS, E_DSTAS, E_INIF,
	E_OUTIF, E_EXPORTER, E_NHIP, E_BGPNH, E_TOS, E_FLAGS, E_SRCMASK, E_DSTMASK,
	E_SRCVLAN, E_DSTVLAN, E_NEXTAS, E_PREVAS,
	/* enrichment: countries packed as intern_country does, names as ids */
	E_SRCGEO, E_DSTGEO, E_INIFNAME, E_OUTIFNAME, E_COUNT,
};

enum elem_kind { K_NUMBER, K_ADDR, K_COUNTRY, K_NAME };

static const struct {
	const char *name, *title;
	bool addr;
	enum elem_kind kind;	/* K_NUMBER unless said */
} elems[E_COUNT] = {
	[E_SRCIP] = { "srcip", "Src IP Addr", true },
	[E_DSTIP] = { "dstip", "Dst IP Addr", true },
	[E_SRCPORT] = { "srcport", "Src Port", false },
	[E_DSTPORT] = { "dstport", "Dst Port", false },
	[E_PROTO] = { "proto", "Protocol", false },
	[E_SRCAS] = { "srcas", "Src AS", false },
	[E_DSTAS] = { "dstas", "Dst AS", false },
	[E_INIF] = { "inif", "Input If", false },
	[E_OUTIF] = { "outif", "Output If", false },
	[E_EXPORTER] = { "exporter", "Exporter", true },
	[E_NHIP] = { "nhip", "Next-hop IP", true },
	[E_BGPNH] = { "bgpnh", "BGP next hop", true },
	[E_TOS] = { "tos", "Tos", false },
	[E_FLAGS] = { "flags", "Flags", false },
	[E_SRCMASK] = { "srcmask", "Src Mask", false },
	[E_DSTMASK] = { "dstmask", "Dst Mask", false },
	[E_SRCVLAN] = { "srcvlan", "Src Vlan", false },
	[E_DSTVLAN] = { "dstvlan", "Dst Vlan", false },
	[E_NEXTAS] = { "nextas", "Next AS", false },
	[E_PREVAS] = { "prevas", "Prev AS", false },
	[E_SRCGEO] = { "srcgeo", "Src Country", false, K_COUNTRY },
	[E_DSTGEO] = { "dstgeo", "Dst Country", false, K_COUNTRY },
	[E_INIFNAME] = { "inifname", "Input If Name", false, K_NAME },
	[E_OUTIFNAME] = { "outifname", "Output If Name", false, K_NAME },
};

/* Address slots of a key; numbers have one slot per element. */
enum { A_SRC, A_DST, A_OTHER, A_SLOTS };

struct qkey {
	struct addr a[A_SLOTS];
	uint8_t pad[5];	/* no implicit padding: keys are compared with memcmp */
	uint32_t n[E_COUNT];
	int64_t bucket;
};

_Static_assert(sizeof(struct qkey) == 3 * sizeof(struct addr) + 5 + 4 * E_COUNT + 8,
    "struct qkey has padding");

struct part_elem {
	enum elem e;
	unsigned m4, m6;	/* prefix lengths kept (32/128: all) */
};

static int
addr_slot(enum elem e)
{
	return e == E_SRCIP ? A_SRC : e == E_DSTIP ? A_DST : A_OTHER;
}

static void
mask_addr(struct addr *a, unsigned m4, unsigned m6)
{
	unsigned len = a->family == 4 ? m4 : m6;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		a->bytes[i] &= keep ? (uint8_t)(0xff << (8 - keep)) : 0;
	}
}

static uint32_t
elem_num(enum elem e, const struct flow *f)
{
	switch (e) {
	case E_SRCPORT: return flow_src_port(f);
	case E_DSTPORT: return flow_dst_port(f);
	case E_PROTO: return f->proto;
	case E_SRCAS: return f->src_as;
	case E_DSTAS: return f->dst_as;
	case E_INIF: return f->in_if;
	case E_OUTIF: return f->out_if;
	case E_TOS: return f->tos;
	case E_FLAGS: return f->tcp_flags;
	case E_SRCMASK: return f->src_mask;
	case E_DSTMASK: return f->dst_mask;
	case E_SRCVLAN: return f->src_vlan;
	case E_DSTVLAN: return f->dst_vlan;
	case E_NEXTAS: return f->next_as;
	case E_PREVAS: return f->prev_as;
	case E_SRCGEO: return f->src_country;
	case E_DSTGEO: return f->dst_country;
	case E_INIFNAME: return f->in_if_name;
	case E_OUTIFNAME: return f->out_if_name;
	default: return 0;
	}
}

static struct addr
elem_addr(enum elem e, const struct flow *f)
{
	switch (e) {
	case E_SRCIP: return f->src;
	case E_DSTIP: return f->dst;
	case E_EXPORTER: return f->exporter;
	case E_NHIP: return f->next_hop;
	default: return f->bgp_next_hop;
	}
}

/* "srcip", "dstip4/24", "srcip6/48" */
static bool
parse_elem(const char *s, size_t len, struct part_elem *pe)
{
	size_t nl = len;
	const char *slash = memchr(s, '/', len);
	int fam = 0;

	pe->m4 = 32;
	pe->m6 = 128;
	if (slash)
		nl = (size_t)(slash - s);
	if (nl > 1 && (s[nl - 1] == '4' || s[nl - 1] == '6') && slash) {
		fam = s[nl - 1] - '0';
		nl--;
	}
	for (int e = 0; e < E_COUNT; e++) {
		if (strlen(elems[e].name) != nl || strncasecmp(elems[e].name, s, nl) != 0)
			continue;
		pe->e = (enum elem)e;
		if (!slash)
			return true;
		if (!elems[e].addr || !fam)
			return false;
		char buf[8], *end;
		size_t ml = len - nl - 2;
		if (ml == 0 || ml >= sizeof(buf))
			return false;
		memcpy(buf, slash + 1, ml);
		buf[ml] = '\0';
		unsigned long m = strtoul(buf, &end, 10);
		if (*end || m > (fam == 4 ? 32u : 128u))
			return false;
		if (fam == 4)
			pe->m4 = (unsigned)m;
		else
			pe->m6 = (unsigned)m;
		return true;
	}
	return false;
}

/* ---- statistics and aggregation specs ---- */

enum order { O_FLOWS, O_PACKETS, O_BYTES, O_PPS, O_BPS, O_BPP, O_COUNT };
static const char *const order_names[O_COUNT] = {
	"flows", "packets", "bytes", "pps", "bps", "bpp",
};

struct stat_spec {
	const char *text;
	char type[24];
	bool record;		/* the aggregated records */
	struct part_elem el[2];	/* a flow counts once for each (ip: src, dst) */
	int n_el;
	bool by_proto;
	enum order orders[O_COUNT];
	int n_orders;
	const char *title;
};

static const struct {
	const char *name, *title;
	enum elem a, b;
} two_sided[] = {
	{ "ip", "IP Addr", E_SRCIP, E_DSTIP }, { "port", "Port", E_SRCPORT, E_DSTPORT },
	{ "as", "AS", E_SRCAS, E_DSTAS }, { "if", "In/Out If", E_INIF, E_OUTIF },
	{ "vlan", "Vlan", E_SRCVLAN, E_DSTVLAN }, { "mask", "Mask", E_SRCMASK, E_DSTMASK },
	{ "geo", "Country", E_SRCGEO, E_DSTGEO },
	{ "ifname", "In/Out If Name", E_INIFNAME, E_OUTIFNAME },
};

static bool
parse_order(const char *s, size_t len, enum order *o)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strlen(order_names[i]) == len && strncasecmp(order_names[i], s, len) == 0) {
			*o = (enum order)i;
			return true;
		}
	return false;
}

static bool
parse_stat(const char *text, struct stat_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->text = text;
	/* TYPE[:p][/ORDER...]; a mask's "/24" belongs to the type */
	const char *p = text, *end = text + strlen(text);
	const char *t_end = p;
	while (t_end < end && *t_end != ':' && *t_end != '/')
		t_end++;
	if (t_end < end && *t_end == '/' && t_end + 1 < end && t_end[1] >= '0' && t_end[1] <= '9') {
		t_end++;
		while (t_end < end && *t_end >= '0' && *t_end <= '9')
			t_end++;
	}
	size_t tl = (size_t)(t_end - p);
	if (tl == 0 || tl >= sizeof(sp->type))
		return false;
	memcpy(sp->type, p, tl);
	sp->type[tl] = '\0';
	p = t_end;
	if (p < end && *p == ':') {
		if (p + 1 >= end || (p[1] != 'p' && p[1] != 'P'))
			return false;
		sp->by_proto = true;
		p += 2;
	}
	while (p < end) {
		if (*p != '/')
			return false;
		const char *o = ++p;
		while (p < end && *p != '/')
			p++;
		if (sp->n_orders >= O_COUNT || !parse_order(o, (size_t)(p - o),
		    &sp->orders[sp->n_orders++]))
			return false;
	}
	if (sp->n_orders == 0)
		sp->orders[sp->n_orders++] = O_FLOWS;
	if (strcasecmp(sp->type, "record") == 0) {
		sp->record = true;
		sp->title = "Aggregated flows";
		return true;
	}
	for (size_t i = 0; i < sizeof(two_sided) / sizeof(two_sided[0]); i++)
		if (strcasecmp(sp->type, two_sided[i].name) == 0) {
			sp->el[0] = (struct part_elem){ two_sided[i].a, 32, 128 };
			sp->el[1] = (struct part_elem){ two_sided[i].b, 32, 128 };
			sp->n_el = 2;
			sp->title = two_sided[i].title;
			return true;
		}
	if (!parse_elem(sp->type, tl, &sp->el[0]))
		return false;
	if (strcasecmp(sp->type, "srcnet") == 0)
		return false;
	sp->n_el = 1;
	sp->title = elems[sp->el[0].e].title;
	return true;
}

/* ---- the table ----
 * Keys are packed: only the parts of struct qkey a query fills (pieces),
 * back to back in one dense arena; the counters sit in a dense array; the
 * open-addressing index holds row numbers. A million keys of one address
 * take some 60 bytes each, not a sparse array of whole struct qkeys. */

#define MAX_PIECES (A_SLOTS + E_COUNT + 1)

struct layout {
	struct { uint16_t off, len; } piece[MAX_PIECES];
	int n;
	size_t key_len;
	/* Where in the packed key an intern id sits: ids depend on which
	 * thread met a name first, so sorting compares their strings. */
	uint16_t name_at[MAX_PIECES];
	int n_names;
};

static void
layout_add(struct layout *l, size_t off, size_t len)
{
	for (int i = 0; i < l->n; i++)
		if (l->piece[i].off == off)
			return;
	l->piece[l->n].off = (uint16_t)off;
	l->piece[l->n++].len = (uint16_t)len;
	l->key_len += len;
}

static void
layout_add_name(struct layout *l, size_t off)
{
	size_t at = 0;

	for (int i = 0; i < l->n; i++) {
		if (l->piece[i].off == off) {
			l->name_at[l->n_names++] = (uint16_t)at;
			return;
		}
		at += l->piece[i].len;
	}
}

static void
pack(const struct layout *l, const struct qkey *k, unsigned char *out)
{
	const unsigned char *src = (const unsigned char *)k;

	for (int i = 0; i < l->n; i++) {
		memcpy(out, src + l->piece[i].off, l->piece[i].len);
		out += l->piece[i].len;
	}
}

static void
unpack(const struct layout *l, const unsigned char *in, struct qkey *k)
{
	unsigned char *dst = (unsigned char *)k;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < l->n; i++) {
		memcpy(dst + l->piece[i].off, in, l->piece[i].len);
		in += l->piece[i].len;
	}
}

struct counts {
	uint64_t flows, packets, bytes;
	int64_t first, last;
	int64_t bucket;
};

/* An index slot: the row and 32 bits of its key's hash (where its probe
 * starts), so that probing past other keys reads the index alone. */
struct islot {
	uint32_t row;		/* row + 1; 0: empty */
	uint32_t tag;
};

struct table {
	const struct layout *lay;
	struct islot *index;
	size_t icap;
	/* Each row its counts and then its packed key, stride bytes: a lookup
	 * that finds its key reads one row, not a counter and a key apart. */
	unsigned char *rows;
	size_t stride;
	size_t count, cap, max;
	bool full;		/* a key was refused: over --max-keys, or no memory */
};

/* The output's view of one row. */
struct row {
	struct qkey key;
	uint64_t flows, packets, bytes;
	int64_t first, last;
};

static bool
table_init(struct table *t, const struct layout *lay, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->lay = lay;
	t->max = max;
	t->stride = sizeof(struct counts) + (lay->key_len + 7) / 8 * 8;
	t->icap = 1024;
	t->index = calloc(t->icap, sizeof(*t->index));
	return t->index != NULL;
}

static void
table_finish(struct table *t)
{
	free(t->index);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static struct counts *
counts_at(const struct table *t, size_t r)
{
	return (struct counts *)(void *)(t->rows + r * t->stride);
}

static const unsigned char *
key_at(const struct table *t, size_t r)
{
	return t->rows + r * t->stride + sizeof(struct counts);
}

/* 64-bit words mixed by multiplication: packed keys are short and fixed. */
static uint64_t
hash_key(const unsigned char *k, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, k, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		k += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, k, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* Room for one more row; the index at most 3/4 full. */
static bool
table_reserve(struct table *t)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		unsigned char *nr = bigmem_realloc(t->rows, t->cap * t->stride, cap * t->stride);
		if (!nr)
			return false;
		t->rows = nr;
		t->cap = cap;
	}
	if (4 * (t->count + 1) > 3 * t->icap) {
		size_t icap = 2 * t->icap, mask = icap - 1;
		struct islot *ni = bigmem_zalloc(icap * sizeof(*ni));
		if (!ni)
			return false;
		for (size_t i = 0; i < t->icap; i++) {
			struct islot sl = t->index[i];
			if (!sl.row)
				continue;
			size_t j = sl.tag & mask;
			while (ni[j].row)
				j = (j + 1) & mask;
			ni[j] = sl;
		}
		free(t->index);
		t->index = ni;
		t->icap = icap;
	}
	return true;
}

static void
table_add_packed(struct table *t, const unsigned char *k, uint64_t h, const struct counts *c)
{
	size_t len = t->lay->key_len, mask = t->icap - 1;
	uint32_t tag = (uint32_t)h;
	size_t i = tag & mask;

	for (struct islot sl; (sl = t->index[i]).row != 0; i = (i + 1) & mask) {
		if (sl.tag != tag || !bytes_equal(key_at(t, sl.row - 1), k, len))
			continue;
		struct counts *row = counts_at(t, sl.row - 1);
		row->flows = counter_add(row->flows, c->flows);
		row->packets = counter_add(row->packets, c->packets);
		row->bytes = counter_add(row->bytes, c->bytes);
		if (c->first < row->first)
			row->first = c->first;
		if (c->last > row->last)
			row->last = c->last;
		return;
	}
	if (t->count >= t->max || t->count >= UINT32_MAX - 1) {
		t->full = true;
		return;
	}
	size_t icap = t->icap;
	if (!table_reserve(t)) {
		t->full = true;
		return;
	}
	if (icap != t->icap)
		for (mask = t->icap - 1, i = tag & mask; t->index[i].row; i = (i + 1) & mask)
			;
	*counts_at(t, t->count) = *c;
	memcpy(t->rows + t->count * t->stride + sizeof(struct counts), k, len);
	t->index[i] = (struct islot){ (uint32_t)++t->count, tag };
}

static void
table_add(struct table *t, const struct qkey *k, uint64_t packets, uint64_t bytes,
    int64_t first, int64_t last)
{
	unsigned char buf[sizeof(struct qkey)];
	struct counts c = { .flows = 1, .packets = packets, .bytes = bytes, .first = first,
	    .last = last, .bucket = k->bucket };

	pack(t->lay, k, buf);
	table_add_packed(t, buf, hash_key(buf, t->lay->key_len), &c);
}

/* The rows of from added to into, the index slots of the rows a few
 * ahead loaded meanwhile: into is far bigger than the cache. */
#define MERGE_AHEAD 8

static void
table_merge(struct table *into, const struct table *from)
{
	size_t len = from->lay->key_len;

	for (size_t r = 0; r < from->count; r++) {
		if (r + MERGE_AHEAD < from->count)
			__builtin_prefetch(&into->index[(uint32_t)hash_key(key_at(from, r + MERGE_AHEAD),
			    len) & (into->icap - 1)]);
		table_add_packed(into, key_at(from, r), hash_key(key_at(from, r), len),
		    counts_at(from, r));
	}
	into->full |= from->full;
}

static void
row_at(const struct table *t, size_t r, struct row *out)
{
	const struct counts *c = counts_at(t, r);

	unpack(t->lay, key_at(t, r), &out->key);
	out->flows = c->flows;
	out->packets = c->packets;
	out->bytes = c->bytes;
	out->first = c->first;
	out->last = c->last;
}

/* ---- the query and its parts (one per thread) ---- */

enum list_order { L_INPUT, L_TSTART, L_TEND, L_BYTES, L_PACKETS, L_FLOWS, L_DURATION };

struct listed {
	struct flow f;
	uint32_t file;
	uint64_t seq;
};

struct query {
	const struct options *o;
	struct expr *filter, *post;
	bool needs_line;
	struct sources sources;
	struct stat_spec stats[OPTIONS_MAX_LIST];
	size_t n_stats;
	struct part_elem agg[MAX_AGG_KEYS];
	size_t n_agg;
	enum list_order lorder;
	struct layout stat_layout[OPTIONS_MAX_LIST];
	struct layout agg_layout;
	atomic_size_t next_file;
	bool *skip;		/* files left unopened by --since/--until */
	bool as_names;		/* a table keyed by AS shows the AS's name */
	bool core_only;		/* record_parser_core_only(): no key reads the others */
	struct geodb *geo;	/* --asn-db, --country-db */
};

/* The name an AS number had in the records, for the tables keyed by AS
 * (the key stays the number, as nfdump's). Where records disagree the
 * name first in byte order wins, so the choice does not depend on which
 * thread read what. */
struct asname {
	uint32_t asn;
	uint32_t name;
};

struct part {
	struct query *q;
	struct reader *r;
	struct record_parser *rp;
	struct stats st;
	struct table tables[OPTIONS_MAX_LIST];
	struct table agg;
	uint64_t flows, packets, bytes;
	int64_t first, last;
	struct listed *list;
	size_t n_list, cap_list;
	bool oom;
	struct geodb_cache *gcache;
	struct oatab asnames;	/* struct asname by asn */
	uint32_t last_asn, last_asname;
};

static void
asname_note(struct part *pt, uint32_t asn, uint32_t name)
{
	if (!asn || !name || (asn == pt->last_asn && name == pt->last_asname))
		return;
	pt->last_asn = asn;
	pt->last_asname = name;
	uint64_t h = oatab_hash(&asn, sizeof(asn));
	struct asname *e = oatab_find(&pt->asnames, &asn, h);
	if (e) {
		if (e->name != name && strcmp(intern_str(name), intern_str(e->name)) < 0)
			e->name = name;
		return;
	}
	if (!(e = malloc(sizeof(*e))))
		return;		/* the row shows no name: nothing is miscounted */
	e->asn = asn;
	e->name = name;
	if (oatab_insert(&pt->asnames, e, h) < 0)
		free(e);
}

static const char *
asname_get(const struct part *pt, uint32_t asn)
{
	struct asname *e = oatab_find((struct oatab *)&pt->asnames, &asn,
	    oatab_hash(&asn, sizeof(asn)));
	return e ? intern_str(e->name) : NULL;
}

static int64_t
bucket_of(const struct query *q, int64_t ms)
{
	return q->o->every_ms ? time_floor_div(ms, q->o->every_ms) * q->o->every_ms : 0;
}

static void
stat_add(struct part *pt, size_t s, const struct flow *f)
{
	const struct stat_spec *sp = &pt->q->stats[s];
	struct qkey k;

	for (int i = 0; i < sp->n_el; i++) {
		const struct part_elem *pe = &sp->el[i];
		memset(&k, 0, sizeof(k));
		if (elems[pe->e].addr) {
			k.a[0] = elem_addr(pe->e, f);
			mask_addr(&k.a[0], pe->m4, pe->m6);
		} else {
			k.n[0] = elem_num(pe->e, f);
		}
		if (sp->by_proto)
			k.n[1] = f->proto;
		k.bucket = bucket_of(pt->q, f->start_ms);
		table_add(&pt->tables[s], &k, f->packets, f->bytes, f->start_ms, f->end_ms);
	}
}

static void
agg_key(const struct query *q, const struct flow *f, struct qkey *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < q->n_agg; i++) {
		const struct part_elem *pe = &q->agg[i];
		if (elems[pe->e].addr) {
			struct addr *a = &k->a[addr_slot(pe->e)];
			*a = elem_addr(pe->e, f);
			mask_addr(a, pe->m4, pe->m6);
		} else {
			k->n[pe->e] = elem_num(pe->e, f);
		}
	}
	k->bucket = bucket_of(q, f->start_ms);
}

static void
list_add(struct part *pt, const struct flow *f, uint32_t file, uint64_t seq)
{
	if (pt->n_list == pt->cap_list) {
		size_t cap = pt->cap_list ? 2 * pt->cap_list : 4096;
		struct listed *nl = realloc(pt->list, cap * sizeof(*nl));
		if (!nl) {
			pt->oom = true;
			return;
		}
		pt->list = nl;
		pt->cap_list = cap;
	}
	pt->list[pt->n_list++] = (struct listed){ *f, file, seq };
}

static void
take_flow(struct part *pt, struct flow *f, const char *line, size_t len, uint32_t file,
    uint64_t seq)
{
	struct query *q = pt->q;
	struct expr_input in = { .flow = f, .flows = 1, .line = line, .len = len };

	pt->st.flows++;
	if (q->geo)
		geodb_enrich(q->geo, pt->gcache, f);
	sampling_scale(&pt->st.sampling, f);
	if (!filter_match(q->o, f) || (q->filter && !expr_match(q->filter, &in))) {
		pt->st.filtered++;
		return;
	}
	sampling_count(&pt->st.sampling, f);
	if (q->as_names) {
		asname_note(pt, f->src_as, f->src_as_name);
		asname_note(pt, f->dst_as, f->dst_as_name);
	}
	if (pt->flows == 0 || f->start_ms < pt->first)
		pt->first = f->start_ms;
	if (pt->flows == 0 || f->end_ms > pt->last)
		pt->last = f->end_ms;
	pt->flows++;
	pt->packets = counter_add(pt->packets, f->packets);
	pt->bytes = counter_add(pt->bytes, f->bytes);
	for (size_t s = 0; s < q->n_stats; s++)
		if (!q->stats[s].record)
			stat_add(pt, s, f);
	if (q->n_agg) {
		struct qkey k;
		agg_key(q, f, &k);
		table_add(&pt->agg, &k, f->packets, f->bytes, f->start_ms, f->end_ms);
	} else if (q->o->flows) {
		list_add(pt, f, file, seq);
	}
}

static void
read_file(struct part *pt, size_t file)
{
	const char *line;
	size_t len;
	bool overlong;
	struct flow f;
	uint64_t seq = 0;
	enum reader_status rs;

	if (reader_open(pt->r, pt->q->sources.paths[file]) < 0) {
		pt->st.input_errors++;
		return;
	}
	while ((rs = reader_next(pt->r, &line, &len, &overlong)) == READER_LINE) {
		pt->st.lines++;
		if (overlong) {
			pt->st.malformed++;
			continue;
		}
		switch (record_parse(pt->rp, line, len, &f)) {
		case RECORD_FLOW: take_flow(pt, &f, line, len, (uint32_t)file, seq++); break;
		case RECORD_NOT_FLOW: pt->st.not_flow++; break;
		case RECORD_MALFORMED: pt->st.malformed++; break;
		case RECORD_INCOMPLETE: pt->st.incomplete++; break;
		case RECORD_FW_UPDATE: pt->st.fw_updates++; break;
		case RECORD_EMPTY: case RECORD_NOT_FAST: break;
		}
	}
	if (rs == READER_ERROR)
		pt->st.input_errors++;
	reader_close(pt->r);
}

static void *
worker(void *arg)
{
	struct part *pt = arg;
	struct query *q = pt->q;
	size_t i;

	while ((i = atomic_fetch_add(&q->next_file, 1)) < q->sources.count)
		if (!q->skip[i])
			read_file(pt, i);
	return NULL;
}

static bool
part_init(struct part *pt, struct query *q)
{
	memset(pt, 0, sizeof(*pt));
	pt->q = q;
	oatab_init(&pt->asnames, offsetof(struct asname, asn), sizeof(uint32_t));
	sampling_init(&pt->st.sampling, !q->o->no_scale);
	if (!(pt->r = reader_new()) || !(pt->rp = record_parser_new()))
		return false;
	record_parser_core_only(pt->rp, q->core_only);
	if (q->geo && !(pt->gcache = geodb_cache_new()))
		return false;
	for (size_t s = 0; s < q->n_stats; s++)
		if (!table_init(&pt->tables[s], &q->stat_layout[s], q->o->max_keys))
			return false;
	return table_init(&pt->agg, &q->agg_layout, q->o->max_keys);
}

static void
part_finish(struct part *pt)
{
	reader_free(pt->r);
	record_parser_free(pt->rp);
	geodb_cache_free(pt->gcache);
	for (size_t s = 0; s < OPTIONS_MAX_LIST; s++)
		table_finish(&pt->tables[s]);
	table_finish(&pt->agg);
	free(pt->list);
	for (size_t i = 0; i < pt->asnames.nslots; i++)
		free(pt->asnames.slots[i].entry);
	oatab_finish(&pt->asnames);
}

static void
stats_merge(struct stats *a, const struct stats *b)
{
	a->lines += b->lines;
	a->flows += b->flows;
	a->filtered += b->filtered;
	a->not_flow += b->not_flow;
	a->malformed += b->malformed;
	a->incomplete += b->incomplete;
	a->fw_updates += b->fw_updates;
	a->input_errors += b->input_errors;
	sampling_merge(&a->sampling, &b->sampling);
}

/* Everything of b into a (a is part 0). */
static void
part_merge(struct part *a, struct part *b)
{
	stats_merge(&a->st, &b->st);
	if (b->flows) {
		if (a->flows == 0 || b->first < a->first)
			a->first = b->first;
		if (a->flows == 0 || b->last > a->last)
			a->last = b->last;
	}
	a->flows += b->flows;
	a->packets = counter_add(a->packets, b->packets);
	a->bytes = counter_add(a->bytes, b->bytes);
	for (size_t s = 0; s < a->q->n_stats; s++)
		table_merge(&a->tables[s], &b->tables[s]);
	table_merge(&a->agg, &b->agg);
	for (size_t i = 0; i < b->n_list && !a->oom; i++)
		list_add(a, &b->list[i].f, b->list[i].file, b->list[i].seq);
	a->oom |= b->oom;
	for (size_t i = 0; i < b->asnames.nslots; i++) {
		const struct asname *e = b->asnames.slots[i].entry;
		if (e)
			asname_note(a, e->asn, e->name);
	}
}

/* ---- ordering ---- */

static uint64_t
rate(uint64_t v, uint64_t mult, int64_t ms)
{
	return ms > 0 ? (uint64_t)((double)v * (double)mult / (double)ms) : 0;
}

static uint64_t
order_value(enum order o, const struct counts *r)
{
	int64_t d = r->last - r->first;

	switch (o) {
	case O_FLOWS: return r->flows;
	case O_PACKETS: return r->packets;
	case O_BYTES: return r->bytes;
	case O_PPS: return rate(r->packets, 1000, d);
	case O_BPS: return rate(r->bytes, 8000, d);
	case O_BPP: return r->packets ? r->bytes / r->packets : 0;
	default: return 0;
	}
}

/* qsort has no argument for these: sorting runs on the main thread only. */
static enum order sort_order;
static const struct table *sort_table;

/* The names in two packed keys, in layout order (equal names: equal ids). */
static int
cmp_names(const struct table *t, uint32_t i, uint32_t j)
{
	const struct layout *l = t->lay;

	for (int n = 0; n < l->n_names; n++) {
		uint32_t a, b;
		memcpy(&a, key_at(t, i) + l->name_at[n], sizeof(a));
		memcpy(&b, key_at(t, j) + l->name_at[n], sizeof(b));
		if (a != b)
			return strcmp(intern_str(a), intern_str(b));
	}
	return 0;
}

/* bucket ascending, the order's value descending, then the key: total. */
static int
cmp_rows(const void *x, const void *y)
{
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	const struct counts *a = counts_at(sort_table, i), *b = counts_at(sort_table, j);
	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	uint64_t va = order_value(sort_order, a), vb = order_value(sort_order, b);
	if (va != vb)
		return va > vb ? -1 : 1;
	int c = cmp_names(sort_table, i, j);
	if (c)
		return c;
	return memcmp(key_at(sort_table, i), key_at(sort_table, j), sort_table->lay->key_len);
}

static int
cmp_rows_time(const void *x, const void *y)
{
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	const struct counts *a = counts_at(sort_table, i), *b = counts_at(sort_table, j);
	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	int c = cmp_names(sort_table, i, j);
	if (c)
		return c;
	return memcmp(key_at(sort_table, i), key_at(sort_table, j), sort_table->lay->key_len);
}

/* Order of v[0..n) as a heap whose top is the row that ranks last. */
static void
sift_last(uint32_t *v, size_t n, size_t i, int (*cmp)(const void *, const void *))
{
	uint32_t x = v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && cmp(&v[c + 1], &v[c]) > 0)
			c++;
		if (cmp(&v[c], &x) <= 0)
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

/* The rows of t in cmp's order, or (keep > 0) only the first keep of them:
 * those are found in a heap of keep, not by sorting them all, since a
 * statistic shows ten rows of a million keys. cmp is a total order, so
 * they are the same rows, in the same order, as a full sort's first keep.
 * *n: how many v holds. */
static uint32_t *
sorted_rows(const struct table *t, int (*cmp)(const void *, const void *), size_t keep,
    size_t *n)
{
	uint32_t *v = malloc((t->count ? t->count : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < t->count; i++)
		v[i] = (uint32_t)i;
	sort_table = t;
	*n = t->count;
	if (keep > 0 && keep < t->count) {
		for (size_t i = keep / 2; i-- > 0;)
			sift_last(v, keep, i, cmp);
		for (size_t i = keep; i < t->count; i++)
			if (cmp(&v[i], &v[0]) < 0) {
				v[0] = v[i];
				sift_last(v, keep, 0, cmp);
			}
		*n = keep;
	}
	if (*n > 1)	/* qsort's base may not be NULL, even for 0 */
		qsort(v, *n, sizeof(*v), cmp);
	return v;
}

/* ---- output ---- */

static void
fmt_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)time_floor_div(ms, 1000);
	struct tm tm;
	char s[32];

	localtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03d", s, (int)(ms - time_floor_div(ms, 1000) * 1000));
}

static const char *
proto_name(unsigned p, char *buf, size_t size)
{
	static const struct { unsigned n; const char *s; } names[] = {
		{ 1, "ICMP" }, { 2, "IGMP" }, { 6, "TCP" }, { 17, "UDP" }, { 47, "GRE" },
		{ 50, "ESP" }, { 51, "AH" }, { 58, "ICMP6" }, { 89, "OSPF" }, { 132, "SCTP" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].n == p)
			return names[i].s;
	snprintf(buf, size, "%u", p);
	return buf;
}

static void
flags_text(unsigned v, char *buf)
{
	static const char letters[] = "CEUAPRSF";
	for (int i = 0; i < 8; i++)
		buf[i] = (v & (0x80u >> i)) ? letters[i] : '.';
	buf[8] = '\0';
}

/* The key's text; raw: a name as it is (for JSON, which escapes it),
 * else with control bytes as '?' (a terminal, a CSV field). */
static void
elem_text(enum elem e, const struct qkey *k, int slot_a, int slot_n, bool raw, char *buf,
    size_t size)
{
	if (elems[e].addr) {
		const struct addr *a = &k->a[slot_a];
		if (a->family)
			addr_format(a, buf, size);
		else
			snprintf(buf, size, "0.0.0.0");
	} else if (elems[e].kind == K_COUNTRY) {
		char cc[3];
		snprintf(buf, size, "%s", k->n[slot_n] ? intern_country_text((uint16_t)k->n[slot_n], cc) : "-");
	} else if (elems[e].kind == K_NAME) {
		const char *name = k->n[slot_n] ? intern_str(k->n[slot_n]) : "-";
		if (raw)
			snprintf(buf, size, "%s", name);
		else
			format_clean(name, buf, size);
	} else if (e == E_FLAGS) {
		char fl[9];
		flags_text(k->n[slot_n], fl);
		snprintf(buf, size, "%s", fl);
	} else if (e == E_PROTO) {
		char pb[8];
		snprintf(buf, size, "%s", proto_name(k->n[slot_n], pb, sizeof(pb)));
	} else {
		snprintf(buf, size, "%" PRIu32, k->n[slot_n]);
	}
}

static double
pct(uint64_t v, uint64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0;
}

/* v is UTF-8 (addresses, or interned names, which intern made valid). */
static void
json_str(FILE *out, const char *key, const char *v, bool first)
{
	fprintf(out, "%s\"%s\":\"", first ? "" : ",", key);
	for (; *v; v++)
		if (*v == '"' || *v == '\\')
			fprintf(out, "\\%c", *v);
		else if ((unsigned char)*v < 0x20 || *v == 0x7f)
			fprintf(out, "\\u%04x", (unsigned char)*v);
		else
			fputc(*v, out);
	fputc('"', out);
}

/* A CSV field, quoted where it holds a comma, a quote or a newline. */
static void
csv_str(FILE *out, const char *v)
{
	if (!strpbrk(v, ",\"\n\r")) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v; v++) {
		if (*v == '"')
			fputc('"', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

static void
json_time(FILE *out, const char *key, int64_t ms)
{
	char buf[40];
	time_format_rfc3339(ms, buf, sizeof(buf));
	fprintf(out, ",\"%s\":\"%s\"", key, buf);
}

static void
print_bucket_head(FILE *out, const struct query *q, int64_t bucket)
{
	char tb[40];
	if (!q->o->every_ms || q->o->csv || q->o->json)
		return;
	fmt_time(bucket, tb, sizeof(tb));
	fprintf(out, "-- %s\n", tb);
}

static void
print_stat_row(FILE *out, const struct query *q, const struct stat_spec *sp,
    const struct row *r, const struct part *tot, enum order o)
{
	char first[40], keybuf[INTERN_LEN_MAX + 1 + ADDR_STRLEN], pb[8], bk[40];
	int64_t d = r->last - r->first;
	const char *proto = sp->by_proto ? proto_name(r->key.n[1], pb, sizeof(pb)) : "any";
	uint64_t pps = rate(r->packets, 1000, d), bps = rate(r->bytes, 8000, d);
	uint64_t bpp = r->packets ? r->bytes / r->packets : 0;
	enum elem e = sp->el[0].e;
	const char *as_name = (e == E_SRCAS || e == E_DSTAS) && r->key.n[0] ?
	    asname_get(tot, r->key.n[0]) : NULL;

	elem_text(e, &r->key, 0, 0, q->o->json, keybuf, sizeof(keybuf));
	fmt_time(r->first, first, sizeof(first));
	if (q->o->json) {
		fprintf(out, "{\"stat\":\"%s\",\"order\":\"%s\"", sp->type, order_names[o]);
		if (q->o->every_ms)
			json_time(out, "bucket", r->key.bucket);
		json_time(out, "first", r->first);
		json_time(out, "last", r->last);
		fprintf(out, ",\"duration_ms\":%" PRId64, d);
		if (sp->by_proto)
			fprintf(out, ",\"proto\":%" PRIu32, r->key.n[1]);
		json_str(out, "key", keybuf, false);
		if (as_name)
			json_str(out, "as_name", as_name, false);
		fprintf(out, ",\"flows\":%" PRIu64 ",\"flows_pct\":%.2f,\"packets\":%" PRIu64
		    ",\"packets_pct\":%.2f,\"bytes\":%" PRIu64 ",\"bytes_pct\":%.2f,\"pps\":%" PRIu64
		    ",\"bps\":%" PRIu64 ",\"bpp\":%" PRIu64 "}\n", r->flows, pct(r->flows, tot->flows),
		    r->packets, pct(r->packets, tot->packets), r->bytes, pct(r->bytes, tot->bytes),
		    pps, bps, bpp);
	} else if (q->o->csv) {
		char last[40];
		fmt_time(r->last, last, sizeof(last));
		if (q->o->every_ms) {
			fmt_time(r->key.bucket, bk, sizeof(bk));
			fprintf(out, "%s,", bk);
		}
		fprintf(out, "%s,%s,%.3f,%s,", first, last, (double)d / 1000.0, proto);
		csv_str(out, keybuf);
		fprintf(out, ",%" PRIu64 ",%.1f,%" PRIu64 ",%.1f,%" PRIu64
		    ",%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", r->flows, pct(r->flows, tot->flows), r->packets,
		    pct(r->packets, tot->packets), r->bytes, pct(r->bytes, tot->bytes), pps, bps, bpp);
	} else {
		fprintf(out, "%s %9.3f %-5s %39s %8" PRIu64 "(%4.1f) %10" PRIu64 "(%4.1f) %12" PRIu64
		    "(%4.1f) %9" PRIu64 " %10" PRIu64 " %6" PRIu64, first, (double)d / 1000.0,
		    proto, keybuf, r->flows, pct(r->flows, tot->flows), r->packets,
		    pct(r->packets, tot->packets), r->bytes, pct(r->bytes, tot->bytes), pps, bps, bpp);
		/* nfdump's columns stay as they are; the AS's name follows them */
		if (as_name) {
			char clean[INTERN_LEN_MAX + 1];
			format_clean(as_name, clean, sizeof(clean));
			fprintf(out, "  %s", clean);
		}
		fputc('\n', out);
	}
}

/* Column width of a key in the aggregated records' text table. */
static int
agg_width(enum elem e)
{
	return elems[e].addr ? 39 : elems[e].kind == K_NAME ? 16 :
	    elems[e].kind == K_COUNTRY ? 11 : 8;
}

static void
print_agg_row(FILE *out, const struct query *q, const struct row *r)
{
	char first[40], last[40], keybuf[INTERN_LEN_MAX + 1 + ADDR_STRLEN];
	int64_t d = r->last - r->first;
	uint64_t pps = rate(r->packets, 1000, d), bps = rate(r->bytes, 8000, d);
	uint64_t bpp = r->packets ? r->bytes / r->packets : 0;

	fmt_time(r->first, first, sizeof(first));
	fmt_time(r->last, last, sizeof(last));
	if (q->o->json) {
		char t1[40];
		time_format_rfc3339(r->first, t1, sizeof(t1));
		fprintf(out, "{\"first\":\"%s\"", t1);
		if (q->o->every_ms)
			json_time(out, "bucket", r->key.bucket);
	} else if (q->o->csv) {
		fprintf(out, "%s,%s,%.3f", first, last, (double)d / 1000.0);
	} else {
		fprintf(out, "%s %9.3f", first, (double)d / 1000.0);
	}
	for (size_t i = 0; i < q->n_agg; i++) {
		enum elem e = q->agg[i].e;
		elem_text(e, &r->key, addr_slot(e), e, q->o->json, keybuf, sizeof(keybuf));
		if (q->o->json) {
			if (elems[e].addr || elems[e].kind != K_NUMBER)
				json_str(out, elems[e].name, keybuf, false);
			else
				fprintf(out, ",\"%s\":%" PRIu32, elems[e].name, r->key.n[e]);
		} else if (q->o->csv) {
			fputc(',', out);
			csv_str(out, keybuf);
		} else {
			fprintf(out, " %*s", agg_width(e), keybuf);
		}
	}
	if (q->o->json) {
		json_time(out, "last", r->last);
		fprintf(out, ",\"duration_ms\":%" PRId64 ",\"flows\":%" PRIu64 ",\"packets\":%" PRIu64
		    ",\"bytes\":%" PRIu64 ",\"pps\":%" PRIu64 ",\"bps\":%" PRIu64 ",\"bpp\":%" PRIu64 "}\n",
		    d, r->flows, r->packets, r->bytes, pps, bps, bpp);
	} else if (q->o->csv) {
		fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
		    r->flows, r->packets, r->bytes, pps, bps, bpp);
	} else {
		fprintf(out, " %10" PRIu64 " %12" PRIu64 " %8" PRIu64 " %9" PRIu64 " %10" PRIu64
		    " %6" PRIu64 "\n", r->packets, r->bytes, r->flows, pps, bps, bpp);
	}
}

/* The aggregated record as a flow, for --post-filter. */
static void
agg_flow(const struct query *q, const struct row *r, struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->src = r->key.a[A_SRC];
	f->dst = r->key.a[A_DST];
	for (size_t i = 0; i < q->n_agg; i++) {
		enum elem e = q->agg[i].e;
		uint32_t v = r->key.n[e];
		switch (e) {
		case E_SRCPORT: f->src_port = (uint16_t)v; break;
		case E_DSTPORT: f->dst_port = (uint16_t)v; break;
		case E_PROTO: f->proto = (uint8_t)v; break;
		case E_SRCAS: f->src_as = v; break;
		case E_DSTAS: f->dst_as = v; break;
		case E_INIF: f->in_if = v; break;
		case E_OUTIF: f->out_if = v; break;
		case E_TOS: f->tos = (uint8_t)v; break;
		case E_FLAGS: f->tcp_flags = (uint8_t)v; break;
		case E_SRCMASK: f->src_mask = (uint8_t)v; break;
		case E_DSTMASK: f->dst_mask = (uint8_t)v; break;
		case E_SRCVLAN: f->src_vlan = (uint16_t)v; break;
		case E_DSTVLAN: f->dst_vlan = (uint16_t)v; break;
		case E_NEXTAS: f->next_as = v; break;
		case E_PREVAS: f->prev_as = v; break;
		case E_SRCGEO: f->src_country = (uint16_t)v; break;
		case E_DSTGEO: f->dst_country = (uint16_t)v; break;
		case E_INIFNAME: f->in_if_name = v; break;
		case E_OUTIFNAME: f->out_if_name = v; break;
		case E_EXPORTER: f->exporter = r->key.a[A_OTHER]; break;
		case E_NHIP: f->next_hop = r->key.a[A_OTHER]; break;
		case E_BGPNH: f->bgp_next_hop = r->key.a[A_OTHER]; break;
		default: break;
		}
	}
	f->icmp_type = f->icmp_code = -1;
	f->start_ms = r->first;
	f->end_ms = r->last;
	f->packets = r->packets;
	f->bytes = r->bytes;
}

static bool
post_ok(const struct query *q, const struct row *r)
{
	struct flow f;

	if (!q->post)
		return true;
	agg_flow(q, r, &f);
	struct expr_input in = { .flow = &f, .flows = r->flows };
	return expr_match(q->post, &in);
}

static void
print_header(FILE *out, const struct query *q, const struct stat_spec *sp, enum order o)
{
	if (q->o->json)
		return;
	if (q->o->csv) {
		fprintf(out, "%sts,te,td,pr,val,fl,flP,pkt,pktP,byt,bytP,pps,bps,bpp\n",
		    q->o->every_ms ? "bucket," : "");
		return;
	}
	fprintf(out, "Top %u %s ordered by %s:\n", q->o->top, sp->title, order_names[o]);
	fprintf(out, "%-23s %9s %-5s %39s %14s %16s %18s %9s %10s %6s\n", "Date first seen",
	    "Duration", "Proto", sp->title, "Flows(%)", "Packets(%)", "Bytes(%)", "pps", "bps", "bpp");
}

static void
print_agg_header(FILE *out, const struct query *q)
{
	if (q->o->json)
		return;
	if (q->o->csv) {
		fputs("ts,te,td", out);
		for (size_t i = 0; i < q->n_agg; i++)
			fprintf(out, ",%s", elems[q->agg[i].e].name);
		fputs(",fl,pkt,byt,pps,bps,bpp\n", out);
		return;
	}
	fprintf(out, "%-23s %9s", "Date first seen", "Duration");
	for (size_t i = 0; i < q->n_agg; i++)
		fprintf(out, " %*s", agg_width(q->agg[i].e), elems[q->agg[i].e].title);
	fprintf(out, " %10s %12s %8s %9s %10s %6s\n", "Packets", "Bytes", "Flows", "pps", "bps", "bpp");
}

/* Rows of one statistic (or of the aggregated records), top N per bucket. */
static void
print_table(FILE *out, const struct query *q, const struct stat_spec *sp,
    const struct table *t, const struct part *tot)
{
	/* Only the top rows print, unless buckets or a post-filter decide
	 * which those are: then all are sorted. */
	size_t keep = q->o->top && !q->o->every_ms && !(sp->record && q->post) ? q->o->top : 0;

	for (int oi = 0; oi < sp->n_orders; oi++) {
		sort_order = sp->orders[oi];
		size_t n;
		uint32_t *v = sorted_rows(t, cmp_rows, keep, &n);
		struct row r;
		size_t shown = 0;
		int64_t bucket = INT64_MIN;
		if (!v)
			return;
		if (sp->record)
			print_agg_header(out, q);
		else
			print_header(out, q, sp, sp->orders[oi]);
		for (size_t i = 0; i < n; i++) {
			if (counts_at(t, v[i])->bucket != bucket) {
				bucket = counts_at(t, v[i])->bucket;
				shown = 0;
				print_bucket_head(out, q, bucket);
			}
			if (q->o->top && shown >= q->o->top)
				continue;
			row_at(t, v[i], &r);
			if (sp->record && !post_ok(q, &r))
				continue;
			shown++;
			if (sp->record)
				print_agg_row(out, q, &r);
			else
				print_stat_row(out, q, sp, &r, tot, sp->orders[oi]);
		}
		if (!q->o->json && !q->o->csv)
			fputc('\n', out);
		free(v);
	}
}

static void
print_aggregate(FILE *out, const struct query *q, const struct table *t)
{
	size_t keep = q->o->top_given && q->o->top && !q->post ? q->o->top : 0, n;
	uint32_t *v = sorted_rows(t, cmp_rows_time, keep, &n);
	size_t shown = 0;
	struct row r;

	if (!v)
		return;
	print_agg_header(out, q);
	for (size_t i = 0; i < n; i++) {
		row_at(t, v[i], &r);
		if (!post_ok(q, &r))
			continue;
		if (q->o->top_given && q->o->top && shown >= q->o->top)
			break;
		shown++;
		print_agg_row(out, q, &r);
	}
	free(v);
}

static enum list_order cur_lorder;

static int64_t
list_value(const struct listed *l)
{
	switch (cur_lorder) {
	case L_TSTART: return -l->f.start_ms;
	case L_TEND: return -l->f.end_ms;
	case L_BYTES: return (int64_t)(l->f.bytes > INT64_MAX ? INT64_MAX : l->f.bytes);
	case L_PACKETS: return (int64_t)(l->f.packets > INT64_MAX ? INT64_MAX : l->f.packets);
	case L_DURATION: return l->f.end_ms - l->f.start_ms;
	default: return 0;
	}
}

/* The --order key (largest first; times earliest first), then input order. */
static int
cmp_listed(const void *x, const void *y)
{
	const struct listed *a = x, *b = y;
	int64_t va = list_value(a), vb = list_value(b);
	if (va != vb)
		return va > vb ? -1 : 1;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool
flow_enriched(const struct flow *f)
{
	return f->src_as_name || f->dst_as_name || f->src_country || f->dst_country ||
	    f->in_if_name || f->out_if_name;
}

/* The enrichment keys of a --flows --json line, each where it has a value. */
static void
json_enrichment(FILE *out, const struct flow *f)
{
	char cc[3];

	if (f->src_as)
		fprintf(out, ",\"src_as\":%" PRIu32, f->src_as);
	if (f->dst_as)
		fprintf(out, ",\"dst_as\":%" PRIu32, f->dst_as);
	if (f->src_as_name)
		json_str(out, "src_as_name", intern_str(f->src_as_name), false);
	if (f->dst_as_name)
		json_str(out, "dst_as_name", intern_str(f->dst_as_name), false);
	if (f->src_country)
		json_str(out, "src_country", intern_country_text(f->src_country, cc), false);
	if (f->dst_country)
		json_str(out, "dst_country", intern_country_text(f->dst_country, cc), false);
	if (f->in_if_name)
		json_str(out, "in_if_name", intern_str(f->in_if_name), false);
	if (f->out_if_name)
		json_str(out, "out_if_name", intern_str(f->out_if_name), false);
}

static void
csv_enrichment(FILE *out, const struct flow *f)
{
	char cc[3], buf[INTERN_LEN_MAX + 1];
	const uint32_t names[] = { f->src_as_name, f->dst_as_name };

	for (int i = 0; i < 2; i++) {
		fputc(',', out);
		format_clean(intern_str(names[i]), buf, sizeof(buf));
		csv_str(out, buf);
	}
	fprintf(out, ",%s", intern_country_text(f->src_country, cc));
	fprintf(out, ",%s", intern_country_text(f->dst_country, cc));
	format_clean(intern_str(f->in_if_name), buf, sizeof(buf));
	fputc(',', out);
	csv_str(out, buf);
	format_clean(intern_str(f->out_if_name), buf, sizeof(buf));
	fputc(',', out);
	csv_str(out, buf);
}

/* "AS15169 GOOGLE (US)", "AS64500", "(DE)" or "-" */
static void
side_text(uint32_t asn, uint32_t name, uint16_t country, char *buf, size_t size)
{
	char cc[3];
	size_t n = 0;

	buf[0] = '\0';
	if (name || asn) {
		format_as(asn, intern_str(name), buf, size);
		n = strlen(buf);
	}
	if (country)
		snprintf(buf + n, size - n, "%s(%s)", n ? " " : "", intern_country_text(country, cc));
	if (!buf[0])
		snprintf(buf, size, "-");
}

static void
text_enrichment(FILE *out, const struct flow *f)
{
	char s[INTERN_LEN_MAX + 32], d[INTERN_LEN_MAX + 32];

	side_text(f->src_as, f->src_as_name, f->src_country, s, sizeof(s));
	side_text(f->dst_as, f->dst_as_name, f->dst_country, d, sizeof(d));
	fprintf(out, "  %s -> %s", s, d);
}

static void
print_flow(FILE *out, const struct query *q, const struct flow *f, bool enriched)
{
	char first[40], last[40], sa[ADDR_STRLEN], da[ADDR_STRLEN], pb[8], fl[9], ex[ADDR_STRLEN];
	int64_t d = f->end_ms - f->start_ms;

	fmt_time(f->start_ms, first, sizeof(first));
	fmt_time(f->end_ms, last, sizeof(last));
	addr_format(&f->src, sa, sizeof(sa));
	addr_format(&f->dst, da, sizeof(da));
	flags_text(f->tcp_flags, fl);
	if (f->exporter.family)
		addr_format(&f->exporter, ex, sizeof(ex));
	else
		strcpy(ex, "");
	unsigned sp = f->src_port, dp = f->dst_port;
	if (flow_is_icmp(f) && f->icmp_type >= 0) {
		sp = 0;
		dp = (unsigned)(f->icmp_type * 256 + (f->icmp_code > 0 ? f->icmp_code : 0));
	}
	if (q->o->json) {
		char t1[40], t2[40];
		time_format_rfc3339(f->start_ms, t1, sizeof(t1));
		time_format_rfc3339(f->end_ms, t2, sizeof(t2));
		fprintf(out, "{\"start\":\"%s\",\"end\":\"%s\",\"duration_ms\":%" PRId64
		    ",\"src_addr\":\"%s\",\"dst_addr\":\"%s\",\"src_port\":%u,\"dst_port\":%u"
		    ",\"proto\":%u,\"tcp_flags\":%u,\"tos\":%u,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		    ",\"exporter\":\"%s\"", t1, t2, d, sa, da, f->src_port, f->dst_port, f->proto,
		    f->tcp_flags, f->tos, f->packets, f->bytes, ex);
		json_enrichment(out, f);
		fputs("}\n", out);
	} else if (q->o->csv) {
		fprintf(out, "%s,%s,%.3f,%s,%s,%u,%u,%s,%s,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%"
		    PRIu32 ",%" PRIu32 ",%" PRIu32 ",%s", first, last, (double)d / 1000.0, sa, da,
		    sp, dp, proto_name(f->proto, pb, sizeof(pb)), fl, f->tos, f->packets, f->bytes,
		    f->in_if, f->out_if, f->src_as, f->dst_as, ex);
		if (enriched)
			csv_enrichment(out, f);
		fputc('\n', out);
	} else {
		char s[ADDR_STRLEN + 8], t[ADDR_STRLEN + 8];
		snprintf(s, sizeof(s), f->src.family == 6 ? "[%s]:%u" : "%s:%u", sa, sp);
		snprintf(t, sizeof(t), f->dst.family == 6 ? "[%s]:%u" : "%s:%u", da, dp);
		fprintf(out, "%s %9.3f %-5s %45s -> %45s %8s %10" PRIu64 " %12" PRIu64 " %5u",
		    first, (double)d / 1000.0, proto_name(f->proto, pb, sizeof(pb)), s, t, fl,
		    f->packets, f->bytes, 1u);
		if (enriched)
			text_enrichment(out, f);
		fputc('\n', out);
	}
}

static void
print_listing(FILE *out, struct query *q, struct part *pt)
{
	size_t limit = q->o->top_given && q->o->top ? q->o->top : SIZE_MAX;
	bool enriched = false;	/* the columns for enrichment, only when a flow has some */

	cur_lorder = q->lorder;
	if (pt->n_list > 1)	/* qsort's base may not be NULL, even for 0 */
		qsort(pt->list, pt->n_list, sizeof(*pt->list), cmp_listed);
	for (size_t i = 0; i < pt->n_list && i < limit && !enriched; i++)
		enriched = flow_enriched(&pt->list[i].f);
	if (q->o->csv)
		fprintf(out, "ts,te,td,sa,da,sp,dp,pr,flg,stos,ipkt,ibyt,in,out,sas,das,ra%s\n",
		    enriched ? ",sasn,dasn,scc,dcc,inn,outn" : "");
	else if (!q->o->json)
		fprintf(out, "%-23s %9s %-5s %45s    %45s %8s %10s %12s %5s%s\n", "Date first seen",
		    "Duration", "Proto", "Src IP Addr:Port", "Dst IP Addr:Port", "Flags",
		    "Packets", "Bytes", "Flows", enriched ? "  Src AS (Country) -> Dst AS (Country)" : "");
	for (size_t i = 0; i < pt->n_list && i < limit; i++)
		print_flow(out, q, &pt->list[i].f, enriched);
}

static void
print_summary(FILE *out, const struct query *q, const struct part *pt)
{
	char first[40], last[40];
	int64_t d = pt->last - pt->first;

	if (q->o->json || q->o->csv)
		return;
	fmt_time(pt->first, first, sizeof(first));
	fmt_time(pt->last, last, sizeof(last));
	fprintf(out, "Summary: total flows: %" PRIu64 ", total bytes: %" PRIu64 ", total packets: %"
	    PRIu64 ", avg bps: %" PRIu64 ", avg pps: %" PRIu64 ", avg bpp: %" PRIu64 "\n",
	    pt->flows, pt->bytes, pt->packets, rate(pt->bytes, 8000, d), rate(pt->packets, 1000, d),
	    pt->packets ? pt->bytes / pt->packets : 0);
	if (pt->flows)
		fprintf(out, "Time window: %s - %s\n", first, last);
	fprintf(out, "Total flows processed: %" PRIu64 "\n", pt->st.flows);
}

/* ---- set-up ---- */

static char *
read_text_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int c;

	if (!f)
		return NULL;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? 2 * cap : 4096;
			if (cap > 64u * 1024 * 1024) {
				free(buf);
				fclose(f);
				return NULL;
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		buf[len++] = (char)(c == '\0' ? ' ' : c);
	}
	fclose(f);
	if (!buf && !(buf = malloc(1)))
		return NULL;
	buf[len] = '\0';
	return buf;
}

static int
compile(const char *what, const char *text, struct expr **out)
{
	struct expr_error err;

	if (!(*out = expr_parse(text, &err))) {
		expr_print_error(stderr, what, text, &err);
		return -1;
	}
	return 0;
}

int
query_load_filter(const struct options *o, struct expr **out)
{
	*out = NULL;
	if (o->filter && o->filter_file) {
		fprintf(stderr, "netflow-analyze: give --filter or --filter-file, not both\n");
		return -1;
	}
	if (o->filter)
		return compile("--filter", o->filter, out);
	if (o->filter_file) {
		char *text = read_text_file(o->filter_file);
		char what[300];
		if (!text) {
			fprintf(stderr, "netflow-analyze: --filter-file %s: cannot read it\n",
			    o->filter_file);
			return -1;
		}
		snprintf(what, sizeof(what), "--filter-file %s", o->filter_file);
		int rc = compile(what, text, out);
		free(text);
		return rc;
	}
	return 0;
}

bool
query_wanted(const struct options *o)
{
	return o->n_stats > 0 || o->aggregate || o->flows;
}

static bool
parse_aggregate(struct query *q, const char *text)
{
	static const enum elem five[] = { E_SRCIP, E_DSTIP, E_SRCPORT, E_DSTPORT, E_PROTO };
	const char *p = text;

	if (strcasecmp(text, "5tuple") == 0) {
		for (size_t i = 0; i < 5; i++)
			q->agg[q->n_agg++] = (struct part_elem){ five[i], 32, 128 };
		return true;
	}
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct part_elem pe;
		if (q->n_agg >= MAX_AGG_KEYS || !parse_elem(p, len, &pe))
			return false;
		for (size_t i = 0; i < q->n_agg; i++)
			if (q->agg[i].e == pe.e)
				return false;
		/* exporter, next hop and BGP next hop share one address slot */
		if (elems[pe.e].addr && addr_slot(pe.e) == A_OTHER)
			for (size_t i = 0; i < q->n_agg; i++)
				if (elems[q->agg[i].e].addr && addr_slot(q->agg[i].e) == A_OTHER)
					return false;
		q->agg[q->n_agg++] = pe;
		p += len;
		if (*p == ',')
			p++;
	}
	return q->n_agg > 0;
}

static bool
parse_list_order(const char *s, enum list_order *o)
{
	static const struct { const char *n; enum list_order o; } names[] = {
		{ "tstart", L_TSTART }, { "tend", L_TEND }, { "bytes", L_BYTES },
		{ "packets", L_PACKETS }, { "flows", L_FLOWS }, { "duration", L_DURATION },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i].n) == 0) {
			*o = names[i].o;
			return true;
		}
	return false;
}

/* Slot start of file i from its name, or INT64_MIN. */
static int64_t
slot_time(const char *path)
{
	const char *base = strrchr(path, '/');
	char buf[32];
	int64_t ms;

	base = base ? base + 1 : path;
	if (!sources_is_slot_name(base))
		return INT64_MIN;
	/* YYYYMMDDTHHMMSSZ -> YYYY-MM-DDTHH:MM:SSZ */
	snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", base, base + 4, base + 6,
	    base + 9, base + 11, base + 13);
	return time_parse_rfc3339(buf, strlen(buf), &ms) ? ms : INT64_MIN;
}

/* --since/--until: a file whose slot ends (the next file's slot starts)
 * at or before --since holds only records received, so flows started,
 * before it; one whose slot starts at or after --until only records
 * received after the window. Neither is opened. */
static void
mark_skips(struct query *q)
{
	const struct options *o = q->o;

	for (size_t i = 0; i < q->sources.count; i++) {
		int64_t t = slot_time(q->sources.paths[i]);
		int64_t t_next = i + 1 < q->sources.count ? slot_time(q->sources.paths[i + 1]) : INT64_MIN;
		if (t == INT64_MIN)
			continue;
		if (o->has_until && t >= o->until_ms)
			q->skip[i] = true;
		if (o->has_since && t_next != INT64_MIN && t_next > t && t_next <= o->since_ms)
			q->skip[i] = true;
	}
}

#define QOFF(field) offsetof(struct qkey, field)

static void
make_layouts(struct query *q)
{
	for (size_t s = 0; s < q->n_stats; s++) {
		struct layout *l = &q->stat_layout[s];
		const struct stat_spec *sp = &q->stats[s];
		if (q->o->every_ms)
			layout_add(l, QOFF(bucket), sizeof(int64_t));
		for (int i = 0; i < sp->n_el; i++) {
			if (elems[sp->el[i].e].addr)
				layout_add(l, QOFF(a[0]), sizeof(struct addr));
			else
				layout_add(l, QOFF(n[0]), sizeof(uint32_t));
		}
		if (sp->by_proto)
			layout_add(l, QOFF(n[1]), sizeof(uint32_t));
		if (!sp->record && elems[sp->el[0].e].kind == K_NAME)
			layout_add_name(l, QOFF(n[0]));
	}
	struct layout *l = &q->agg_layout;
	if (q->o->every_ms)
		layout_add(l, QOFF(bucket), sizeof(int64_t));
	for (size_t i = 0; i < q->n_agg; i++) {
		enum elem e = q->agg[i].e;
		if (elems[e].addr)
			layout_add(l, QOFF(a[0]) + (size_t)addr_slot(e) * sizeof(struct addr),
			    sizeof(struct addr));
		else
			layout_add(l, QOFF(n[0]) + (size_t)e * sizeof(uint32_t), sizeof(uint32_t));
	}
	for (size_t i = 0; i < q->n_agg; i++)
		if (elems[q->agg[i].e].kind == K_NAME)
			layout_add_name(l, QOFF(n[0]) + (size_t)q->agg[i].e * sizeof(uint32_t));
}

/* Whether the key's value comes from the core of a line (addresses, ports,
 * protocol, exporter) or an enrichment name or country, which the parser
 * always decodes; the rest record_parser_core_only() leaves out. */
static bool
elem_core(enum elem e)
{
	switch (e) {
	case E_SRCIP: case E_DSTIP: case E_SRCPORT: case E_DSTPORT: case E_PROTO:
	case E_EXPORTER: case E_SRCGEO: case E_DSTGEO: case E_INIFNAME: case E_OUTIFNAME:
		return true;
	default:
		return false;
	}
}

/* Statistics and aggregates over core keys only, with no expression (it
 * may read any key), no listing (it prints them) and no enrichment (it
 * fills the AS numbers) read nothing else of a line. */
static bool
needs_core_only(const struct query *q)
{
	if (q->filter || q->post || q->geo || q->o->flows)
		return false;
	for (size_t i = 0; i < q->n_stats; i++)
		for (int j = 0; j < q->stats[i].n_el; j++)
			if (!elem_core(q->stats[i].el[j].e))
				return false;
	for (size_t i = 0; i < q->n_agg; i++)
		if (!elem_core(q->agg[i].e))
			return false;
	return true;
}

static int
setup(struct query *q, const struct options *o)
{
	char *err = NULL;

	q->o = o;
	if (o->summary || o->chart_file) {
		fprintf(stderr, "netflow-analyze: --%s is not a query mode: give it without "
		    "--stat, --aggregate and --flows\n", o->summary ? "summary" : "chart");
		return 2;
	}
	if (query_load_filter(o, &q->filter) < 0)
		return 2;
	if ((o->asn_db || o->country_db) && !(q->geo = geodb_open(o->asn_db, o->country_db, &err))) {
		fprintf(stderr, "netflow-analyze: %s\n", err ? err : "out of memory");
		free(err);
		return 2;
	}
	if (o->post_filter && compile("--post-filter", o->post_filter, &q->post) < 0)
		return 2;
	if (o->post_filter && !o->aggregate) {
		fprintf(stderr, "netflow-analyze: --post-filter filters aggregated records: give --aggregate\n");
		return 2;
	}
	for (size_t i = 0; i < o->n_stats; i++) {
		if (!parse_stat(o->stats[i], &q->stats[i])) {
			fprintf(stderr, "netflow-analyze: bad --stat '%s' (TYPE[:p][/ORDER], see "
			    "netflow-analyze(1))\n", o->stats[i]);
			return 2;
		}
		if (q->stats[i].record && !o->aggregate) {
			fprintf(stderr, "netflow-analyze: --stat record needs --aggregate\n");
			return 2;
		}
	}
	q->n_stats = o->n_stats;
	for (size_t i = 0; i < q->n_stats; i++)
		for (int j = 0; j < q->stats[i].n_el; j++)
			if (q->stats[i].el[j].e == E_SRCAS || q->stats[i].el[j].e == E_DSTAS)
				q->as_names = true;
	if (o->aggregate && !parse_aggregate(q, o->aggregate)) {
		fprintf(stderr, "netflow-analyze: bad --aggregate '%s' (KEY,KEY,... of srcip dstip "
		    "srcport dstport proto srcas dstas inif outif exporter nhip bgpnh tos flags "
		    "srcmask dstmask srcvlan dstvlan nextas prevas srcgeo dstgeo inifname outifname, "
		    "srcip4/24-style masks, or 5tuple)\n",
		    o->aggregate);
		return 2;
	}
	make_layouts(q);
	q->core_only = needs_core_only(q);
	if (o->order && !parse_list_order(o->order, &q->lorder)) {
		fprintf(stderr, "netflow-analyze: bad --order '%s' (tstart tend bytes packets flows "
		    "duration)\n", o->order);
		return 2;
	}
	unsigned errors = 0;
	if (sources_init(&q->sources, o->inputs, o->n_inputs, &errors) < 0)
		return 1;
	if (!(q->skip = calloc(q->sources.count + 1, sizeof(*q->skip))))
		return 1;
	mark_skips(q);
	return errors ? -1 : 0;
}

static unsigned
thread_count(const struct query *q)
{
	unsigned n = q->o->threads;

	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (unsigned)c : 1;
	}
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if (n > q->sources.count)
		n = q->sources.count ? (unsigned)q->sources.count : 1;
	for (size_t i = 0; i < q->sources.count; i++)
		if (strcmp(q->sources.paths[i], "-") == 0)
			n = 1;	/* standard input: one reader */
	return n;
}

static void
report_input(const struct part *pt, const struct query *q)
{
	const struct stats *st = &pt->st;
	char text[400];

	if (st->malformed)
		fprintf(stderr, "netflow-analyze: %" PRIu64 " malformed line%s skipped\n",
		    st->malformed, st->malformed == 1 ? "" : "s");
	if (st->incomplete)
		fprintf(stderr, "netflow-analyze: %" PRIu64 " flow record%s without addresses or "
		    "times skipped\n", st->incomplete, st->incomplete == 1 ? "" : "s");
	if (st->fw_updates)
		fprintf(stderr, "netflow-analyze: %" PRIu64 " firewall flow-update record%s skipped "
		    "(the flow-teardown record counts the whole connection)\n", st->fw_updates,
		    st->fw_updates == 1 ? "" : "s");
	if (st->sampling.records) {
		sampling_describe(&st->sampling, text, sizeof(text));
		fprintf(stderr, "netflow-analyze: %s\n", text);
	}
	if (intern_refused())
		fprintf(stderr, "netflow-analyze: %" PRIu64 " AS or interface names not kept (more "
		    "than %u distinct, or out of memory): those records show none\n",
		    intern_refused(), INTERN_MAX);
	(void)q;
}

static bool
limits_hit(const struct query *q, const struct part *pt)
{
	bool hit = false;

	for (size_t s = 0; s < q->n_stats; s++)
		if (pt->tables[s].full) {
			fprintf(stderr, "netflow-analyze: --stat %s: more than %" PRIu64 " distinct keys "
			    "(or out of memory); raise --max-keys or narrow the --filter\n",
			    q->stats[s].text, q->o->max_keys);
			hit = true;
		}
	if (pt->agg.full) {
		fprintf(stderr, "netflow-analyze: --aggregate: more than %" PRIu64 " distinct keys "
		    "(or out of memory); raise --max-keys or narrow the --filter\n", q->o->max_keys);
		hit = true;
	}
	if (pt->oom) {
		fprintf(stderr, "netflow-analyze: --flows: out of memory holding the listing\n");
		hit = true;
	}
	return hit;
}

int
query_main(const struct options *o)
{
	static struct query q;
	struct part *parts = NULL;
	pthread_t tids[MAX_THREADS];
	unsigned n = 0, started = 0;
	int rc = setup(&q, o);

	if (rc > 0)
		goto out;
	rc = rc < 0 ? 1 : 0;
	n = thread_count(&q);
	if (!(parts = calloc(n, sizeof(*parts)))) {
		rc = 1;
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		if (!part_init(&parts[i], &q)) {
			fprintf(stderr, "netflow-analyze: out of memory\n");
			rc = 1;
			goto out;
		}
	for (started = 1; started < n; started++)
		if (pthread_create(&tids[started], NULL, worker, &parts[started]) != 0)
			break;
	worker(&parts[0]);
	for (unsigned i = 1; i < started; i++) {
		pthread_join(tids[i], NULL);
		part_merge(&parts[0], &parts[i]);
	}
	struct part *pt = &parts[0];
	if (limits_hit(&q, pt)) {
		rc = 1;
		goto out;
	}
	for (size_t s = 0; s < q.n_stats; s++)
		print_table(stdout, &q, &q.stats[s], q.stats[s].record ? &pt->agg : &pt->tables[s], pt);
	if (q.n_agg && !q.n_stats)
		print_aggregate(stdout, &q, &pt->agg);
	else if (o->flows && !q.n_agg)
		print_listing(stdout, &q, pt);
	print_summary(stdout, &q, pt);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "netflow-analyze: writing the output failed\n");
		rc = 1;
	}
	report_input(pt, &q);
	if (pt->st.input_errors)
		rc = 1;
out:
	for (unsigned i = 0; parts && i < n; i++)
		part_finish(&parts[i]);
	free(parts);
	free(q.skip);
	geodb_free(q.geo);
	intern_finish();
	expr_free(q.filter);
	expr_free(q.post);
	sources_finish(&q.sources);
	return rc;
}
