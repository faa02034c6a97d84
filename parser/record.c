/*
 * Template-driven record decoding shared by NetFlow v9 and IPFIX: each
 * field either feeds a core key of the flow record or is kept as an extra
 * field for output to name.
 */
#include <string.h>

#include "parser-private.h"

#define PEN_REVERSE 29305u
#define NTP_UNIX_OFFSET 2208988800LL

/* Whether a value of len bytes can feed this kind of core key. */
static bool
core_len_ok(uint8_t core, uint8_t slot, uint16_t len)
{
	switch (core) {
	case CORE_NUM:
	case CORE_NUM_FALLBACK:
		return len >= 1 && len <= 8;
	case CORE_ADDR4:
		return len == 4;
	case CORE_ADDR6:
		return len == 16;
	case CORE_ICMP_TYPECODE:
		return len == 2;
	case CORE_SYSINIT:
		return len == 8;
	case CORE_TIME:
		if (slot == TIME_NTP)
			return len == 8;
		return len >= 1 && len <= 8;
	}
	return false;
}

void
tfield_classify(struct tfield *f, bool options)
{
	uint32_t pen = f->pen;

	f->core = CORE_NONE;
	f->slot = 0;
	f->time_end = false;
	if (pen == PEN_REVERSE) {
		f->flags |= FLOW_FIELD_REVERSE;
		pen = 0;
	}
	f->ie = ie_lookup(pen, f->id);
	/* Options records and reverse (biflow) elements are written as
	 * named fields; only forward data fields feed the core keys. */
	if (options || pen != 0 || f->pen == PEN_REVERSE || f->len == VARLEN)
		return;
	/* the core key each element feeds is in the IE table */
	if (f->ie != NULL && f->ie->core != CORE_NONE &&
	    core_len_ok(f->ie->core, f->ie->slot, f->len)) {
		f->core = f->ie->core;
		f->slot = f->ie->slot;
		f->time_end = f->ie->time_end;
	}
}

void
record_reset(struct flow_record *rec)
{
	rec->has_num = 0;
	rec->has_addr = 0;
	rec->has_start = rec->has_end = false;
	rec->nextra = 0;
}

static void
add_extra(struct parser *p, struct flow_record *rec, const struct tfield *f,
    const uint8_t *data, uint16_t len)
{
	struct flow_field *x = &p->extra[rec->nextra++];

	x->ie = f->ie;
	x->pen = f->pen;
	x->id = f->id;
	x->len = len;
	x->flags = f->flags;
	x->data = data;
}

static void
set_time(struct flow_record *rec, bool end, int64_t ms)
{
	if (end) {
		if (!rec->has_end) {
			rec->end_ms = ms;
			rec->has_end = true;
		}
	} else if (!rec->has_start) {
		rec->start_ms = ms;
		rec->has_start = true;
	}
}

/* Absolute time of an uptime stamp, wrap-safe: the distance back from the
 * export is taken modulo 2^32, so a counter that wrapped between the
 * stamp and the export still lands right. */
static int64_t
uptime_to_ms(const struct time_base *tb, uint32_t stamp)
{
	return tb->export_ms - (int64_t)(int32_t)(tb->uptime_ms - stamp);
}

/* An IPFIX uptime stamp against the exporter's systemInitTimeMilliseconds,
 * wrap-safe like uptime_to_ms(): the uptime at the export is what the
 * 32-bit counter showed then, so a counter that wrapped since the
 * exporter started (every 49.7 days) does not throw the time back. An
 * export time before the system init time is a clock that cannot be
 * trusted for this: then the stamp is taken as it is. */
static int64_t
sysinit_to_ms(const struct time_base *tb, int64_t sysinit_ms, uint32_t stamp)
{
	uint32_t uptime;

	if (tb->export_ms < sysinit_ms)
		return sysinit_ms + stamp;
	uptime = (uint32_t)(uint64_t)(tb->export_ms - sysinit_ms);
	return tb->export_ms - (int64_t)(int32_t)(uptime - stamp);
}

struct pending_uptime {
	const struct tfield *f;
	const uint8_t *data;
	uint32_t value;
};

/* False when the value is no plausible time; the caller keeps it raw. */
static bool
decode_time(struct flow_record *rec, const struct tfield *f, uint64_t v,
    const struct time_base *tb)
{
	int64_t ms;

	switch (f->slot) {
	case TIME_SECONDS:
		if (v > (uint64_t)TIME_MAX_MS / 1000)
			return false;
		ms = (int64_t)v * 1000;
		break;
	case TIME_MS:
		if (v > (uint64_t)TIME_MAX_MS)
			return false;
		ms = (int64_t)v;
		break;
	case TIME_NTP:
		ms = ((int64_t)(v >> 32) - NTP_UNIX_OFFSET) * 1000 +
		    (int64_t)(((v & 0xffffffffu) * 1000) >> 32);
		break;
	case TIME_DELTA_US:
		ms = tb->export_ms - (int64_t)(v / 1000);
		break;
	default:
		return false;
	}
	set_time(rec, f->time_end, ms);
	return true;
}

/* A duration gives the end once the start is known. */
static void
apply_duration(struct flow_record *rec, const struct tfield *f, uint64_t v)
{
	uint64_t ms = f->slot == TIME_DURATION_MS ? v : v / 1000;

	/* a duration past the end of time is no duration */
	if (rec->has_start && rec->start_ms <= TIME_MAX_MS &&
	    ms <= (uint64_t)TIME_MAX_MS)
		set_time(rec, true, rec->start_ms + (int64_t)ms);
}

static bool
field_value(struct cursor *c, const struct tfield *f, const uint8_t **data,
    uint16_t *len)
{
	*len = f->len;
	if (f->len == VARLEN) {
		uint8_t l8;
		uint16_t l16;

		if (!cursor_u8(c, &l8))
			return false;
		*len = l8;
		if (l8 == 255) {
			if (!cursor_u16(c, &l16))
				return false;
			*len = l16;
		}
	}
	return cursor_take(c, *len, data);
}

/* The order matters and is the template's: the first field that feeds a
 * core key sets it, a later one for the same key is kept as an extra
 * field (a fallback is dropped), up to 4 uptime stamps and 2 durations
 * wait for the end of the record. None of that depends on the values, so
 * it is decided here once instead of for every record. */
static uint8_t
plan_field(const struct tfield *f, uint32_t *num, uint32_t *addr,
    size_t *nup, size_t *ndur)
{
	static const uint8_t num_ops[9] = { OP_EXTRA, OP_NUM1, OP_NUM2, OP_NUM,
		OP_NUM4, OP_NUM, OP_NUM, OP_NUM, OP_NUM8 };
	uint32_t bit = 1u << f->slot;

	/* tfield_classify() allowed only these lengths; the loads in
	 * decode_field() rely on it */
	if (f->core != CORE_NONE && !core_len_ok(f->core, f->slot, f->len))
		return OP_EXTRA;
	switch (f->core) {
	case CORE_NUM:
	case CORE_NUM_FALLBACK:
		if (*num & bit)
			return f->core == CORE_NUM ? OP_EXTRA : OP_SKIP;
		*num |= bit;
		return num_ops[f->len];
	case CORE_ADDR4:
	case CORE_ADDR6:
		if (*addr & bit)
			return OP_EXTRA;
		*addr |= bit;
		return f->core == CORE_ADDR4 ? OP_ADDR4 : OP_ADDR6;
	case CORE_ICMP_TYPECODE:
		*num |= 1u << FLOW_ICMP_TYPE | 1u << FLOW_ICMP_CODE;
		return OP_ICMP_TYPECODE;
	case CORE_SYSINIT:
		return OP_SYSINIT;
	case CORE_TIME:
		if (f->slot == TIME_UPTIME_MS)
			return (*nup)++ < 4 ? OP_UPTIME : OP_EXTRA;
		if (f->slot == TIME_DURATION_MS || f->slot == TIME_DURATION_US)
			return (*ndur)++ < 2 ? OP_DURATION : OP_EXTRA;
		return OP_TIME;
	}
	return OP_EXTRA;
}

void
record_plan(struct template *t)
{
	uint32_t num = 0, addr = 0;
	size_t nup = 0, ndur = 0;

	_Static_assert(FLOW_NUM_MAX <= 16 && FLOW_ADDR_MAX <= 8,
	    "masks fit the template's fields");
	t->fixed = true;
	t->min_len = 0;
	for (uint16_t i = 0; i < t->nfields; i++) {
		struct tfield *f = &t->fields[i];

		f->op = plan_field(f, &num, &addr, &nup, &ndur);
		if (f->len == VARLEN)
			t->fixed = false;
		t->min_len += f->len == VARLEN ? 1 : f->len;
	}
	t->num_mask = (uint16_t)num;
	t->addr_mask = (uint8_t)addr;
}

/* What a record keeps aside until all its fields are read. */
struct pending {
	struct pending_uptime up[4];
	struct pending_uptime dur[2];
	size_t nup, ndur;
	int64_t sysinit;
	bool has_sysinit;
};

static void
set_addr(struct flow_record *rec, uint8_t slot, uint8_t family,
    const uint8_t *data, size_t len)
{
	struct parser_addr *a = &rec->addr[slot];

	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, data, len);
}

/* One field's value into the record, as planned. Core fields have the
 * fixed lengths tfield_classify() allowed them (never VARLEN), so len is
 * f->len and the loads need no further checks. */
static inline void
decode_field(struct parser *p, struct flow_record *rec, const struct tfield *f,
    const uint8_t *data, uint16_t len, const struct time_base *tb,
    struct pending *pd)
{
	uint64_t v;

	switch (f->op) {
	case OP_SKIP:
		return;
	case OP_NUM1:
		rec->num[f->slot] = data[0];
		return;
	case OP_NUM2:
		rec->num[f->slot] = bytes_be16(data);
		return;
	case OP_NUM4:
		rec->num[f->slot] = bytes_be32(data);
		return;
	case OP_NUM8:
		rec->num[f->slot] = bytes_be64(data);
		return;
	case OP_NUM:
		rec->num[f->slot] = bytes_be(data, len);
		return;
	case OP_ADDR4:
		set_addr(rec, f->slot, 4, data, 4);
		return;
	case OP_ADDR6:
		set_addr(rec, f->slot, 6, data, 16);
		return;
	case OP_ICMP_TYPECODE:
		rec->num[FLOW_ICMP_TYPE] = data[0];
		rec->num[FLOW_ICMP_CODE] = data[1];
		return;
	case OP_SYSINIT:
		v = bytes_be64(data);
		if (v <= (uint64_t)TIME_MAX_MS) {
			pd->sysinit = (int64_t)v;
			pd->has_sysinit = true;
		}
		break;
	case OP_UPTIME:
		pd->up[pd->nup++] = (struct pending_uptime){ f, data,
		    (uint32_t)bytes_be(data, len) };
		return;
	case OP_DURATION:
		pd->dur[pd->ndur++] = (struct pending_uptime){ f, data, 0 };
		break;
	case OP_TIME:
		if (decode_time(rec, f, bytes_be(data, len), tb))
			return;
		break;
	}
	add_extra(p, rec, f, data, len);
}

bool
record_decode(struct parser *p, const struct template *t, struct cursor *c,
    const struct time_base *tb, struct flow_record *rec)
{
	const struct tfield *f = t->fields, *end = f + t->nfields;
	const bool fixed = t->fixed;
	const uint8_t *data, *next = NULL;
	uint16_t len;
	struct pending pd;

	pd.nup = pd.ndur = 0;
	pd.sysinit = tb->sysinit_ms;
	pd.has_sysinit = tb->has_sysinit;
	record_reset(rec);
	/* the keys every record of this template sets (record_plan()) */
	rec->has_num = t->num_mask;
	rec->has_addr = t->addr_mask;
	/* Every length known: one bounds check for the whole record, whose
	 * fields lie back to back and add up to min_len. */
	if (fixed && !cursor_take(c, t->min_len, &next))
		return false;
	for (; f < end; f++) {
		if (fixed) {
			data = next;
			len = f->len;
			next += len;
		} else if (!field_value(c, f, &data, &len)) {
			return false;
		}
		decode_field(p, rec, f, data, len, tb, &pd);
	}
	/* Uptime stamps resolve against the header's uptime (v9) or, for
	 * IPFIX, the record's own systemInitTimeMilliseconds. */
	for (size_t i = 0; i < pd.nup; i++) {
		const struct pending_uptime *u = &pd.up[i];

		if (tb->has_uptime)
			set_time(rec, u->f->time_end, uptime_to_ms(tb, u->value));
		else if (pd.has_sysinit)
			set_time(rec, u->f->time_end,
			    sysinit_to_ms(tb, pd.sysinit, u->value));
		else
			add_extra(p, rec, u->f, u->data, u->f->len);
	}
	for (size_t i = 0; i < pd.ndur; i++)
		apply_duration(rec, pd.dur[i].f,
		    bytes_be(pd.dur[i].data, pd.dur[i].f->len));
	rec->extra = p->extra;
	record_finish(rec);
	return true;
}

/* Without an ICMP element, exporters put type and code in the ports: most
 * (Cisco, v5 always, softflowd, pmacct) as type * 256 + code in the
 * destination port; fprobe as type in the source port and code in the
 * destination port. A non-zero source port below 256 with a destination
 * port below 256 can only be the latter. */
void
record_finish(struct flow_record *rec)
{
	uint64_t proto = rec->num[FLOW_PROTO];
	uint64_t sport = 0, dport = 0, type, code;

	if (!(rec->has_num & (1u << FLOW_PROTO)) || (proto != 1 && proto != 58))
		return;
	if (rec->has_num & (1u << FLOW_ICMP_TYPE))
		return;
	if (rec->has_num & (1u << FLOW_SRC_PORT))
		sport = rec->num[FLOW_SRC_PORT];
	if (rec->has_num & (1u << FLOW_DST_PORT))
		dport = rec->num[FLOW_DST_PORT];
	if (!(rec->has_num & (1u << FLOW_SRC_PORT | 1u << FLOW_DST_PORT)))
		return;
	if (sport != 0 && sport < 256 && dport < 256) {
		type = sport;
		code = dport;
	} else if (dport == 0 && sport >= 256) {
		type = sport >> 8;
		code = sport & 0xff;
	} else {
		type = (dport >> 8) & 0xff;
		code = dport & 0xff;
	}
	rec->num[FLOW_ICMP_TYPE] = type;
	rec->num[FLOW_ICMP_CODE] = code;
	rec->has_num |= 1u << FLOW_ICMP_TYPE | 1u << FLOW_ICMP_CODE;
}

void
record_deliver(struct parser *p, struct flow_record *rec)
{
	struct parser_counters *k = &p->cur->counters;

	p->delivered++;
	k->flows++;
	rec->unproven = !p->cur->proven;
	if (rec->has_num & (1u << FLOW_PACKETS))
		k->packets += rec->num[FLOW_PACKETS];
	p->ops.record(rec, p->arg);
}

size_t
record_decode_set(struct parser *p, const struct template *t,
    struct domain *d, struct cursor *set, const struct time_base *tb,
    struct flow_record *rec)
{
	size_t n = 0, pad;

	if (t->min_len == 0)
		return 0;
	/* Exporters pad sets with zeros, sometimes by more than a record's
	 * length; an all-zero tail is padding, not data. */
	pad = cursor_zero_tail(set);
	while (cursor_left(set) >= t->min_len && cursor_left(set) > pad) {
		if (!record_decode(p, t, set, tb, rec)) {
			parser_drop(p, rec->src, PARSER_DROP_BAD_RECORD, 1);
			break;
		}
		if (t->options)
			options_learn(p, d, rec);
		else if (options_any(d))
			options_apply(p, d, rec);
		record_deliver(p, rec);
		n++;
	}
	return n;
}

size_t
record_template_set(struct parser *p, struct domain *d,
    const struct template *t, struct cursor *set, const struct time_base *tb,
    const struct parser_source *src)
{
	struct flow_record *rec = &p->rec;
	struct time_base base = *tb;

	/* systemInitTimeMilliseconds announced in options data, as it is
	 * now: a held set decodes with what arrived since */
	if (!base.has_uptime && d->has_sysinit) {
		base.has_sysinit = true;
		base.sysinit_ms = d->sysinit_ms;
	}
	rec->src = src;
	rec->kind = t->options ? FLOW_KIND_OPTIONS : FLOW_KIND_DATA;
	rec->version = t->key.proto;
	rec->has_domain = true;
	rec->domain = t->key.domain;
	rec->template_id = t->key.id;
	return record_decode_set(p, t, d, set, &base, rec);
}

size_t
record_data_set(struct parser *p, struct domain *d, struct cursor *set,
    const struct tkey *key, const struct time_base *tb,
    const struct parser_source *src)
{
	const struct template *t = tcache_get_domain(p->templates, d, key);

	if (t == NULL)
		t = template_borrow(p, d, key, src);
	if (t == NULL) {
		if (p->limits.max_held_bytes > 0 && !cursor_all_zero(set))
			held_add(p, d, key->id, set, src, tb);
		else if (!cursor_all_zero(set))
			parser_drop(p, src, PARSER_DROP_UNKNOWN_TEMPLATE, 1);
		return 0;
	}
	return record_template_set(p, d, t, set, tb, src);
}
