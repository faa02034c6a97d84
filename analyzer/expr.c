#include "expr.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "intern.h"
#include "prefixset.h"
#include "record.h"
#include "timeutil.h"

/* ---- the tree ---- */

enum node_kind {
	N_AND, N_OR, N_NOT, N_ANY, N_NUM, N_NUMSET, N_ADDR, N_ADDRSET,
	N_FAMILY, N_FLAGS, N_FORMAT, N_SAMPLED, N_FIELD, N_IFNAME,
};

enum cmp { C_EQ, C_GT, C_LT, C_GE, C_LE };

/* Which addresses a test looks at; EITHER: source or destination. */
enum side { S_SRC, S_DST, S_EITHER, S_BOTH, S_EXPORTER, S_NEXT_HOP, S_BGP_NEXT_HOP };

enum numkey {
	K_PORT, K_AS, K_PREV_AS, K_NEXT_AS, K_MASK, K_VLAN, K_IF, K_PROTO,
	K_ICMP_TYPE, K_ICMP_CODE, K_TOS, K_PACKETS, K_BYTES, K_OUT_PACKETS,
	K_OUT_BYTES, K_DURATION, K_PPS, K_BPS, K_BPP, K_FLOWS, K_FIRST, K_LAST,
	K_GEO,			/* countries, packed as intern_country packs them */
};

enum fmt { FMT_NETFLOW, FMT_IPFIX, FMT_SFLOW };

struct node {
	enum node_kind kind;
	struct node *a, *b;	/* AND, OR: both; NOT: a */
	enum side side;
	enum numkey key;
	enum cmp cmp;
	int64_t value;
	struct prefix prefix;
	struct prefixset *set;
	int64_t *nums;		/* N_NUMSET, sorted */
	size_t n_nums;
	char *name;		/* N_FIELD; N_IFNAME: the interface name */
	char *text;		/* N_FIELD string value, else NULL */
	double fvalue;		/* N_FIELD number */
};

struct expr {
	struct node *root;
	bool needs_line;
};

/* ---- tokens ---- */

enum tok { T_END, T_WORD, T_STRING, T_CMP, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK,
	T_COMMA, T_BANG };

struct token {
	enum tok type;
	size_t pos, len;	/* in the text; T_STRING: without the quotes */
	enum cmp cmp;
};

struct parser {
	const char *text;
	size_t len, pos;
	struct token tok;	/* the current (look-ahead) token */
	struct expr_error *err;
	bool failed;
	bool needs_line;
	int depth;
};

static bool
word_char(int c)
{
	return isalnum(c) || c == '.' || c == ':' || c == '/' || c == '_' || c == '-' ||
	    c == '+' || c == '@';
}

static void
fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
}

static void
next(struct parser *p)
{
	const char *s = p->text;
	size_t i = p->pos;

	while (i < p->len && (isspace((unsigned char)s[i]) || s[i] == '#')) {
		if (s[i] == '#')	/* a comment to the end of the line (filter files) */
			while (i < p->len && s[i] != '\n')
				i++;
		else
			i++;
	}
	p->tok.pos = i;
	p->tok.len = 0;
	if (i >= p->len) {
		p->tok.type = T_END;
		p->pos = i;
		return;
	}
	char c = s[i];
	switch (c) {
	case '(': p->tok.type = T_LPAREN; p->tok.len = 1; p->pos = i + 1; return;
	case ')': p->tok.type = T_RPAREN; p->tok.len = 1; p->pos = i + 1; return;
	case '[': p->tok.type = T_LBRACK; p->tok.len = 1; p->pos = i + 1; return;
	case ']': p->tok.type = T_RBRACK; p->tok.len = 1; p->pos = i + 1; return;
	case ',': p->tok.type = T_COMMA; p->tok.len = 1; p->pos = i + 1; return;
	}
	if (c == '"' || c == '\'') {
		size_t j = i + 1;
		while (j < p->len && s[j] != c)
			j++;
		if (j >= p->len) {
			fail_at(p, i, "unterminated string");
			p->tok.type = T_END;
			p->pos = p->len;
			return;
		}
		p->tok.type = T_STRING;
		p->tok.pos = i + 1;
		p->tok.len = j - i - 1;
		p->pos = j + 1;
		return;
	}
	if (c == '=' || c == '<' || c == '>' || c == '!') {
		size_t j = i;
		while (j < p->len && strchr("=<>!", s[j]))
			j++;
		size_t n = j - i;
		p->tok.len = n;
		p->pos = j;
		if (n == 1 && c == '!') {
			p->tok.type = T_BANG;
			return;
		}
		p->tok.type = T_CMP;
		if ((n == 1 && c == '=') || (n == 2 && memcmp(s + i, "==", 2) == 0))
			p->tok.cmp = C_EQ;
		else if (n == 1 && c == '>')
			p->tok.cmp = C_GT;
		else if (n == 1 && c == '<')
			p->tok.cmp = C_LT;
		else if (n == 2 && memcmp(s + i, ">=", 2) == 0)
			p->tok.cmp = C_GE;
		else if (n == 2 && memcmp(s + i, "<=", 2) == 0)
			p->tok.cmp = C_LE;
		else
			fail_at(p, i, "unknown comparator '%.*s' (use = == > < >= <= or eq gt lt ge le)",
			    (int)n, s + i);
		return;
	}
	if (!word_char((unsigned char)c)) {
		fail_at(p, i, "unexpected character '%c'", isprint((unsigned char)c) ? c : '?');
		p->tok.type = T_END;
		p->pos = p->len;
		return;
	}
	size_t j = i;
	while (j < p->len && word_char((unsigned char)s[j]))
		j++;
	p->tok.type = T_WORD;
	p->tok.len = j - i;
	p->pos = j;
}

static bool
is_word(const struct parser *p, const char *w)
{
	return p->tok.type == T_WORD && strlen(w) == p->tok.len &&
	    strncasecmp(p->text + p->tok.pos, w, p->tok.len) == 0;
}

static bool
accept(struct parser *p, const char *w)
{
	if (!is_word(p, w))
		return false;
	next(p);
	return true;
}

/* The current token as text, for messages. */
static const char *
tok_text(const struct parser *p, char *buf, size_t size)
{
	if (p->tok.type == T_END)
		return "the end";
	snprintf(buf, size, "'%.*s'", (int)(p->tok.len > 40 ? 40 : p->tok.len),
	    p->text + p->tok.pos);
	return buf;
}

static void
expected(struct parser *p, const char *what)
{
	char buf[64];
	fail_at(p, p->tok.pos, "expected %s, found %s", what, tok_text(p, buf, sizeof(buf)));
}

/* ---- nodes ---- */

static void
node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	prefixset_free(n->set);
	free(n->nums);
	free(n->name);
	free(n->text);
	free(n);
}

static struct node *
node_new(struct parser *p, enum node_kind kind)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		fail_at(p, p->tok.pos, "out of memory");
	else
		n->kind = kind;
	return n;
}

static struct node *
binary(struct parser *p, enum node_kind kind, struct node *a, struct node *b)
{
	struct node *n;

	if (!a || !b || !(n = node_new(p, kind))) {
		node_free(a);
		node_free(b);
		return NULL;
	}
	n->a = a;
	n->b = b;
	return n;
}

/* ---- values ---- */

/* "1500", "10k", "1.5M", "2g": nfdump scales by 1000. */
static bool
parse_number_text(const char *s, size_t len, int64_t *out)
{
	char buf[48], *end;
	double mult = 1;

	if (len == 0 || len >= sizeof(buf) || !isdigit((unsigned char)s[0]))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	switch (buf[len - 1]) {
	case 'k': case 'K': mult = 1e3; buf[--len] = '\0'; break;
	case 'm': case 'M': mult = 1e6; buf[--len] = '\0'; break;
	case 'g': case 'G': mult = 1e9; buf[--len] = '\0'; break;
	}
	if (mult == 1 && strspn(buf, "0123456789") == len) {
		errno = 0;
		unsigned long long v = strtoull(buf, &end, 10);
		if (errno == ERANGE || v > INT64_MAX)
			return false;
		*out = (int64_t)v;
		return true;
	}
	if (strspn(buf, "0123456789.") != len)
		return false;
	double d = strtod(buf, &end);
	if (*end != '\0' || d * mult > 9.2e18)
		return false;
	*out = (int64_t)(d * mult);
	return true;
}

static bool
take_number(struct parser *p, const char *what, int64_t max, int64_t *out)
{
	if (p->tok.type != T_WORD || !parse_number_text(p->text + p->tok.pos, p->tok.len, out)) {
		expected(p, what);
		return false;
	}
	if (*out > max) {
		fail_at(p, p->tok.pos, "%.*s is out of range (at most %lld)", (int)p->tok.len,
		    p->text + p->tok.pos, (long long)max);
		return false;
	}
	next(p);
	return true;
}

static bool
take_cmp(struct parser *p, enum cmp *c)
{
	static const struct { const char *w; enum cmp c; } words[] = {
		{ "eq", C_EQ }, { "gt", C_GT }, { "lt", C_LT }, { "ge", C_GE }, { "le", C_LE },
	};

	*c = C_EQ;
	if (p->tok.type == T_CMP) {
		*c = p->tok.cmp;
		next(p);
		return true;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (accept(p, words[i].w)) {
			*c = words[i].c;
			return true;
		}
	return false;
}

static bool
take_prefix(struct parser *p, const char *what, bool allow_len, struct prefix *out)
{
	char buf[ADDR_STRLEN + 8];

	if ((p->tok.type != T_WORD && p->tok.type != T_STRING) || p->tok.len >= sizeof(buf)) {
		expected(p, what);
		return false;
	}
	memcpy(buf, p->text + p->tok.pos, p->tok.len);
	buf[p->tok.len] = '\0';
	if ((!allow_len && strchr(buf, '/')) || !prefix_parse(out, buf)) {
		expected(p, what);
		return false;
	}
	/* the address's bits beyond the prefix do not count */
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = out->len >= 8 * (i + 1) ? 8 : out->len > 8 * i ? out->len - 8 * i : 0;
		out->addr.bytes[i] &= keep ? (uint8_t)(0xff << (8 - keep)) : 0;
	}
	next(p);
	return true;
}

/* "net 10.0.0.0 255.0.0.0": a dotted IPv4 mask after the address. */
static bool
take_netmask(struct parser *p, struct prefix *pf)
{
	struct addr m;
	unsigned bits = 0;

	if (pf->addr.family != 4 || pf->len != 32 || p->tok.type != T_WORD ||
	    !addr_parse(&m, p->text + p->tok.pos, p->tok.len) || m.family != 4)
		return true;	/* no mask given */
	uint32_t v = (uint32_t)m.bytes[0] << 24 | m.bytes[1] << 16 | m.bytes[2] << 8 | m.bytes[3];
	while (bits < 32 && (v & (0x80000000u >> bits)))
		bits++;
	if (bits < 32 && (v << bits) != 0) {
		fail_at(p, p->tok.pos, "%.*s is not a netmask", (int)p->tok.len, p->text + p->tok.pos);
		return false;
	}
	pf->len = bits;
	for (unsigned i = 0; i < 4; i++)
		pf->addr.bytes[i] &= m.bytes[i];
	next(p);
	return true;
}

/* ---- primitives ---- */

static struct node *
num_node(struct parser *p, enum numkey key, enum side side, bool with_cmp,
    const char *what, int64_t max)
{
	struct node *n = node_new(p, N_NUM);

	if (!n)
		return NULL;
	n->key = key;
	n->side = side;
	if (with_cmp)
		take_cmp(p, &n->cmp);
	if (!take_number(p, what, max, &n->value)) {
		node_free(n);
		return NULL;
	}
	return n;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The items of "[ 1 2, 3 ]" into n->nums, sorted; take reads one. A list
 * that must not be empty says what it wants at its ']' (empty). */
static bool
list_items(struct parser *p, struct node *n, bool (*take)(struct parser *,
    const char *, int64_t, int64_t *), const char *what, int64_t max,
    const char *empty)
{
	size_t cap = 0;

	if (p->tok.type != T_LBRACK) {
		expected(p, "'[' to open the list");
		return false;
	}
	next(p);
	while (p->tok.type != T_RBRACK) {
		int64_t v;
		if (p->tok.type == T_COMMA) {
			next(p);
			continue;
		}
		if (!take(p, what, max, &v))
			return false;
		if (n->n_nums == cap) {
			cap = cap ? 2 * cap : 16;
			int64_t *nv = realloc(n->nums, cap * sizeof(*nv));
			if (!nv) {
				fail_at(p, p->tok.pos, "out of memory");
				return false;
			}
			n->nums = nv;
		}
		n->nums[n->n_nums++] = v;
	}
	if (empty && n->n_nums == 0) {
		expected(p, empty);
		return false;
	}
	next(p);
	if (n->n_nums > 1)	/* qsort's base may not be NULL, even for 0 */
		qsort(n->nums, n->n_nums, sizeof(*n->nums), cmp_i64);
	return true;
}

/* "[ 1 2, 3 ]" after "in" */
static struct node *
num_list(struct parser *p, enum numkey key, enum side side, const char *what, int64_t max)
{
	struct node *n = node_new(p, N_NUMSET);

	if (!n)
		return NULL;
	n->key = key;
	n->side = side;
	if (!list_items(p, n, take_number, what, max, NULL)) {
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *
addr_list(struct parser *p, enum side side)
{
	struct node *n = node_new(p, N_ADDRSET);

	if (!n)
		return NULL;
	n->side = side;
	if (!(n->set = prefixset_new())) {
		fail_at(p, p->tok.pos, "out of memory");
		goto fail;
	}
	if (p->tok.type != T_LBRACK) {
		expected(p, "'[' to open the list");
		goto fail;
	}
	next(p);
	while (p->tok.type != T_RBRACK) {
		struct prefix pf;
		if (p->tok.type == T_COMMA) {
			next(p);
			continue;
		}
		if (!take_prefix(p, "an address or prefix in the list", true, &pf))
			goto fail;
		if (!prefixset_add(n->set, &pf)) {
			fail_at(p, p->tok.pos, "out of memory");
			goto fail;
		}
	}
	next(p);
	prefixset_seal(n->set);
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *
addr_node(struct parser *p, enum side side, bool net)
{
	struct node *n;

	if (!net && accept(p, "in"))
		return addr_list(p, side);
	if (!(n = node_new(p, N_ADDR)))
		return NULL;
	n->side = side;
	if (!take_prefix(p, net ? "a network (ADDR/BITS or ADDR MASK)" : "an IP address", net,
	    &n->prefix) || (net && !take_netmask(p, &n->prefix))) {
		node_free(n);
		return NULL;
	}
	return n;
}

static const struct { const char *name; int num; } protocols[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "tcp", 6 }, { "egp", 8 },
	{ "udp", 17 }, { "rsvp", 46 }, { "gre", 47 }, { "esp", 50 }, { "ah", 51 },
	{ "icmp6", 58 }, { "ipv6-icmp", 58 }, { "eigrp", 88 }, { "ospf", 89 },
	{ "pim", 103 }, { "vrrp", 112 }, { "l2tp", 115 }, { "sctp", 132 },
};

static struct node *
proto_node(struct parser *p)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (is_word(p, protocols[i].name)) {
			struct node *n = node_new(p, N_NUM);
			if (n) {
				n->key = K_PROTO;
				n->value = protocols[i].num;
			}
			next(p);
			return n;
		}
	return num_node(p, K_PROTO, S_EITHER, false, "a protocol name or number", 255);
}

/* "SAFRPUEC" or "X" (all): the flags that must all be set. */
static struct node *
flags_node(struct parser *p)
{
	static const char letters[] = "FSRPAUEC";
	struct node *n;
	int64_t mask = 0;

	if (p->tok.type != T_WORD) {
		expected(p, "TCP flags (letters of SAFRPUEC, or X)");
		return NULL;
	}
	for (size_t i = 0; i < p->tok.len; i++) {
		char c = (char)toupper((unsigned char)p->text[p->tok.pos + i]);
		const char *at = strchr(letters, c);
		if (c == 'X')
			mask |= 0x3f;	/* nfdump: X = FSRPAU */
		else if (at && c)
			mask |= 1 << (at - letters);
		else {
			fail_at(p, p->tok.pos + i, "'%c' is not a TCP flag (SAFRPUEC, or X for all)",
			    isprint((unsigned char)c) ? c : '?');
			return NULL;
		}
	}
	if (!(n = node_new(p, N_FLAGS)))
		return NULL;
	n->value = mask;
	next(p);
	return n;
}

static struct node *
format_node(struct parser *p)
{
	static const struct { const char *w; enum fmt f; } names[] = {
		{ "netflow", FMT_NETFLOW }, { "ipfix", FMT_IPFIX }, { "sflow", FMT_SFLOW },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (accept(p, names[i].w)) {
			struct node *n = node_new(p, N_FORMAT);
			if (n)
				n->value = names[i].f;
			return n;
		}
	expected(p, "netflow, ipfix or sflow");
	return NULL;
}

/* "first seen >= 2024-05-01T12:00:00Z" (or a quoted local time) */
static struct node *
time_node(struct parser *p, enum numkey key)
{
	struct node *n;
	char buf[64];

	if (!accept(p, "seen")) {
		expected(p, "'seen'");
		return NULL;
	}
	if (!(n = node_new(p, N_NUM)))
		return NULL;
	n->key = key;
	take_cmp(p, &n->cmp);
	if ((p->tok.type != T_WORD && p->tok.type != T_STRING) || p->tok.len >= sizeof(buf)) {
		expected(p, "a time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or @EPOCH)");
		node_free(n);
		return NULL;
	}
	memcpy(buf, p->text + p->tok.pos, p->tok.len);
	buf[p->tok.len] = '\0';
	if (!time_parse_user(buf, &n->value)) {
		expected(p, "a time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or @EPOCH)");
		node_free(n);
		return NULL;
	}
	next(p);
	return n;
}

/* "field NAME [comp] VALUE": any key of the JSON line. */
static struct node *
field_node(struct parser *p)
{
	struct node *n;

	if (p->tok.type != T_WORD && p->tok.type != T_STRING) {
		expected(p, "a key name");
		return NULL;
	}
	if (!(n = node_new(p, N_FIELD)))
		return NULL;
	if (!(n->name = strndup(p->text + p->tok.pos, p->tok.len))) {
		fail_at(p, p->tok.pos, "out of memory");
		goto fail;
	}
	next(p);
	size_t cmp_pos = p->tok.pos;
	take_cmp(p, &n->cmp);
	if (p->tok.type == T_STRING) {
		if (n->cmp != C_EQ) {
			fail_at(p, cmp_pos, "a string compares with = only");
			goto fail;
		}
		if (!(n->text = strndup(p->text + p->tok.pos, p->tok.len))) {
			fail_at(p, p->tok.pos, "out of memory");
			goto fail;
		}
	} else {
		char buf[64], *end;
		if (p->tok.type != T_WORD || p->tok.len >= sizeof(buf)) {
			expected(p, "a number or a \"string\"");
			goto fail;
		}
		memcpy(buf, p->text + p->tok.pos, p->tok.len);
		buf[p->tok.len] = '\0';
		n->fvalue = strtod(buf, &end);
		if (end == buf || *end != '\0') {
			expected(p, "a number or a \"string\"");
			goto fail;
		}
	}
	next(p);
	p->needs_line = true;
	return n;
fail:
	node_free(n);
	return NULL;
}

/* A country code (list_items' signature: what and max are not asked). */
static bool
take_country(struct parser *p, const char *what, int64_t max, int64_t *out)
{
	uint16_t cc = p->tok.type == T_WORD ? intern_country(p->text + p->tok.pos, p->tok.len) : 0;

	(void)what;
	(void)max;
	if (!cc) {
		expected(p, "a country code (ISO 3166-1 alpha-2: US, DE, ...)");
		return false;
	}
	*out = cc;
	next(p);
	return true;
}

/* "geo US", "geo in [ US DE, NL ]": the countries enrichment found. */
static struct node *
geo_node(struct parser *p, enum side side)
{
	bool list = accept(p, "in");
	struct node *n = node_new(p, list ? N_NUMSET : N_NUM);

	if (!n)
		return NULL;
	n->key = K_GEO;
	n->side = side;
	if (list ? list_items(p, n, take_country, NULL, 0, "a country code") :
	    take_country(p, NULL, 0, &n->value))
		return n;
	node_free(n);
	return NULL;
}

/* "if name uplink" (either side), "in if name X", "out if name X" */
static struct node *
ifname_node(struct parser *p, enum side side)
{
	struct node *n;

	if (p->tok.type != T_WORD && p->tok.type != T_STRING) {
		expected(p, "an interface name");
		return NULL;
	}
	if (!(n = node_new(p, N_IFNAME)))
		return NULL;
	n->side = side;
	if (!(n->name = strndup(p->text + p->tok.pos, p->tok.len))) {
		fail_at(p, p->tok.pos, "out of memory");
		node_free(n);
		return NULL;
	}
	next(p);
	return n;
}

/* After "if" (the side given before it): a name or an index. */
static struct node *
if_node(struct parser *p, enum side side)
{
	if (accept(p, "name"))
		return ifname_node(p, side);
	return num_node(p, K_IF, side, false, "an interface index", UINT32_MAX);
}

/* The tests that take src/dst (and, for AS, prev/next) in front. */
static struct node *
sided(struct parser *p, enum side side, bool any_side, size_t start)
{
	if (accept(p, "ip") || accept(p, "host"))
		return addr_node(p, side, false);
	if (accept(p, "net"))
		return addr_node(p, side, true);
	if (accept(p, "port")) {
		if (accept(p, "in"))
			return num_list(p, K_PORT, side, "a port number", 65535);
		return num_node(p, K_PORT, side, true, "a port number", 65535);
	}
	if (accept(p, "as")) {
		if (accept(p, "in"))
			return num_list(p, K_AS, side, "an AS number", UINT32_MAX);
		return num_node(p, K_AS, side, true, "an AS number", UINT32_MAX);
	}
	if (accept(p, "mask"))
		return num_node(p, K_MASK, side, true, "a mask length", 128);
	if (accept(p, "vlan"))
		return num_node(p, K_VLAN, side, true, "a VLAN id", 65535);
	if (accept(p, "geo"))
		return geo_node(p, side);
	/* src if = in if, dst if = out if */
	if (accept(p, "if"))
		return if_node(p, side);
	if (any_side)
		return NULL;	/* not a sided test: the caller goes on */
	fail_at(p, start, "'%.*s' must be followed by ip, host, net, port, as, mask, vlan, geo or if",
	    (int)(p->tok.pos - start), p->text + start);
	return NULL;
}

static struct node *parse_or(struct parser *p);
static struct node *parse_unary(struct parser *p);

/* "src", "dst", "src or dst", "src and dst" */
static bool
take_side(struct parser *p, enum side *side)
{
	if (is_word(p, "src") || is_word(p, "dst")) {
		*side = is_word(p, "src") ? S_SRC : S_DST;
		next(p);
		/* "src or dst ip X": look ahead without consuming an expression's or */
		size_t save_pos = p->pos;
		struct token save = p->tok;
		if (*side == S_SRC && (is_word(p, "or") || is_word(p, "and"))) {
			enum side both = is_word(p, "or") ? S_EITHER : S_BOTH;
			next(p);
			if (accept(p, "dst")) {
				*side = both;
				return true;
			}
			p->pos = save_pos;
			p->tok = save;
		}
		return true;
	}
	return false;
}

static struct node *
primitive(struct parser *p)
{
	size_t start = p->tok.pos;
	enum side side;
	struct node *n;

	if (take_side(p, &side))
		return sided(p, side, false, start);
	if ((n = sided(p, S_EITHER, true, start)) || p->failed)
		return n;
	if (accept(p, "any"))
		return node_new(p, N_ANY);
	if (accept(p, "ipv4") || accept(p, "inet")) {
		if ((n = node_new(p, N_FAMILY)))
			n->value = 4;
		return n;
	}
	if (accept(p, "ipv6") || accept(p, "inet6")) {
		if ((n = node_new(p, N_FAMILY)))
			n->value = 6;
		return n;
	}
	if (accept(p, "proto"))
		return proto_node(p);
	if (accept(p, "icmp-type"))
		return num_node(p, K_ICMP_TYPE, S_EITHER, false, "an ICMP type", 255);
	if (accept(p, "icmp-code"))
		return num_node(p, K_ICMP_CODE, S_EITHER, false, "an ICMP code", 255);
	if (accept(p, "icmp")) {
		if (accept(p, "type"))
			return num_node(p, K_ICMP_TYPE, S_EITHER, false, "an ICMP type", 255);
		if (accept(p, "code"))
			return num_node(p, K_ICMP_CODE, S_EITHER, false, "an ICMP code", 255);
		expected(p, "'type' or 'code'");
		return NULL;
	}
	if (accept(p, "flags"))
		return flags_node(p);
	if (accept(p, "tos"))
		return num_node(p, K_TOS, S_EITHER, true, "a TOS value", 255);
	if (accept(p, "packets"))
		return num_node(p, K_PACKETS, S_EITHER, true, "a packet count", INT64_MAX);
	if (accept(p, "bytes"))
		return num_node(p, K_BYTES, S_EITHER, true, "a byte count", INT64_MAX);
	if (accept(p, "flows"))
		return num_node(p, K_FLOWS, S_EITHER, true, "a flow count", INT64_MAX);
	if (accept(p, "duration"))
		return num_node(p, K_DURATION, S_EITHER, true, "a duration in milliseconds", INT64_MAX);
	if (accept(p, "pps"))
		return num_node(p, K_PPS, S_EITHER, true, "packets per second", INT64_MAX);
	if (accept(p, "bps"))
		return num_node(p, K_BPS, S_EITHER, true, "bits per second", INT64_MAX);
	if (accept(p, "bpp"))
		return num_node(p, K_BPP, S_EITHER, true, "bytes per packet", INT64_MAX);
	if (is_word(p, "in") || is_word(p, "out")) {
		bool in = is_word(p, "in");
		next(p);
		if (accept(p, "if"))
			return if_node(p, in ? S_SRC : S_DST);
		if (accept(p, "packets"))
			return num_node(p, in ? K_PACKETS : K_OUT_PACKETS, S_EITHER, true,
			    "a packet count", INT64_MAX);
		if (accept(p, "bytes"))
			return num_node(p, in ? K_BYTES : K_OUT_BYTES, S_EITHER, true,
			    "a byte count", INT64_MAX);
		expected(p, "'if', 'packets' or 'bytes'");
		return NULL;
	}
	if (accept(p, "prev")) {
		if (accept(p, "as"))
			return num_node(p, K_PREV_AS, S_EITHER, true, "an AS number", UINT32_MAX);
		expected(p, "'as'");
		return NULL;
	}
	if (accept(p, "next")) {
		if (accept(p, "ip"))
			return addr_node(p, S_NEXT_HOP, false);
		if (accept(p, "as"))
			return num_node(p, K_NEXT_AS, S_EITHER, true, "an AS number", UINT32_MAX);
		expected(p, "'ip' or 'as'");
		return NULL;
	}
	if (accept(p, "bgp")) {
		if (!accept(p, "next")) {
			expected(p, "'next'");
			return NULL;
		}
	} else if (!accept(p, "bgpnext")) {
		goto more;
	}
	if (!accept(p, "ip")) {
		expected(p, "'ip'");
		return NULL;
	}
	return addr_node(p, S_BGP_NEXT_HOP, false);
more:
	if (accept(p, "router")) {
		if (!accept(p, "ip")) {
			expected(p, "'ip'");
			return NULL;
		}
		return addr_node(p, S_EXPORTER, false);
	}
	if (accept(p, "exporter"))
		return addr_node(p, S_EXPORTER, true);
	if (accept(p, "sampled"))
		return node_new(p, N_SAMPLED);
	if (accept(p, "format"))
		return format_node(p);
	if (accept(p, "field"))
		return field_node(p);
	if (accept(p, "first"))
		return time_node(p, K_FIRST);
	if (accept(p, "last"))
		return time_node(p, K_LAST);
	expected(p, "a filter term (ip, net, port, proto, as, flags, bytes, ...)");
	return NULL;
}

static struct node *
parse_unary(struct parser *p)
{
	struct node *n;

	if (++p->depth > EXPR_MAX_DEPTH) {
		fail_at(p, p->tok.pos, "the filter nests more than %d deep", EXPR_MAX_DEPTH);
		return NULL;
	}
	if (p->tok.type == T_BANG || is_word(p, "not")) {
		next(p);
		struct node *a = parse_unary(p);
		if (!a)
			n = NULL;
		else if (!(n = node_new(p, N_NOT)))
			node_free(a);
		else
			n->a = a;
	} else if (p->tok.type == T_LPAREN) {
		size_t open = p->tok.pos;
		next(p);
		n = parse_or(p);
		if (n && p->tok.type != T_RPAREN) {
			char buf[64];
			fail_at(p, p->tok.pos, "expected ')' to close the '(' at %zu, found %s",
			    open + 1, tok_text(p, buf, sizeof(buf)));
			node_free(n);
			n = NULL;
		} else if (n) {
			next(p);
		}
	} else {
		n = primitive(p);
	}
	p->depth--;
	return p->failed ? (node_free(n), NULL) : n;
}

static struct node *
parse_and(struct parser *p)
{
	struct node *n = parse_unary(p);

	while (n && accept(p, "and"))
		n = binary(p, N_AND, n, parse_unary(p));
	return n;
}

static struct node *
parse_or(struct parser *p)
{
	struct node *n;

	if (++p->depth > EXPR_MAX_DEPTH) {
		fail_at(p, p->tok.pos, "the filter nests more than %d deep", EXPR_MAX_DEPTH);
		return NULL;
	}
	n = parse_and(p);
	while (n && accept(p, "or"))
		n = binary(p, N_OR, n, parse_and(p));
	p->depth--;
	return n;
}

struct expr *
expr_parse(const char *text, struct expr_error *err)
{
	struct parser p = { .text = text, .len = strlen(text), .err = err };
	struct expr *e;

	memset(err, 0, sizeof(*err));
	next(&p);
	if (p.tok.type == T_END && !p.failed) {
		fail_at(&p, p.tok.pos, "the filter is empty (use 'any' for every flow)");
		return NULL;
	}
	struct node *root = parse_or(&p);
	if (root && p.tok.type != T_END) {
		char buf[64];
		fail_at(&p, p.tok.pos, "expected 'and', 'or' or the end, found %s",
		    tok_text(&p, buf, sizeof(buf)));
	}
	if (p.failed || !root || !(e = calloc(1, sizeof(*e)))) {
		if (!p.failed)
			fail_at(&p, 0, "out of memory");
		node_free(root);
		return NULL;
	}
	e->root = root;
	e->needs_line = p.needs_line;
	return e;
}

void
expr_free(struct expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e);
}

bool
expr_needs_line(const struct expr *e)
{
	return e->needs_line;
}

void
expr_print_error(FILE *out, const char *what, const char *text, const struct expr_error *err)
{
	size_t start = err->pos, end = err->pos, line = 1;

	while (start > 0 && text[start - 1] != '\n')
		start--;
	while (text[end] && text[end] != '\n')
		end++;
	for (size_t i = 0; i < start; i++)
		line += text[i] == '\n';
	if (line > 1 || text[end] == '\n')
		fprintf(out, "netflow-analyze: %s, line %zu: %s\n", what, line, err->message);
	else
		fprintf(out, "netflow-analyze: %s: %s\n", what, err->message);
	fprintf(out, "  %.*s\n  %*s^\n", (int)(end - start), text + start,
	    (int)(err->pos - start), "");
}

/* ---- evaluation ---- */

static bool
compare(enum cmp c, int64_t v, int64_t want)
{
	switch (c) {
	case C_EQ: return v == want;
	case C_GT: return v > want;
	case C_LT: return v < want;
	case C_GE: return v >= want;
	case C_LE: return v <= want;
	}
	return false;
}

static int64_t
duration(const struct flow *f)
{
	return f->end_ms - f->start_ms;
}

/* The value(s) of a numeric key: two for the keys with a source and a
 * destination side (port, AS, mask, VLAN, interface); *n says how many. */
static void
values(const struct node *nd, const struct expr_input *in, int64_t v[2], int *n)
{
	const struct flow *f = in->flow;
	int64_t d;

	*n = 1;
	switch (nd->key) {
	case K_PORT: v[0] = flow_src_port(f); v[1] = flow_dst_port(f); *n = 2; return;
	case K_AS: v[0] = f->src_as; v[1] = f->dst_as; *n = 2; return;
	case K_MASK: v[0] = f->src_mask; v[1] = f->dst_mask; *n = 2; return;
	case K_VLAN: v[0] = f->src_vlan; v[1] = f->dst_vlan; *n = 2; return;
	case K_IF: v[0] = f->in_if; v[1] = f->out_if; *n = 2; return;
	case K_PREV_AS: v[0] = f->prev_as; return;
	case K_NEXT_AS: v[0] = f->next_as; return;
	case K_PROTO: v[0] = f->proto; return;
	case K_ICMP_TYPE: v[0] = flow_is_icmp(f) ? f->icmp_type : -1; return;
	case K_ICMP_CODE: v[0] = flow_is_icmp(f) ? f->icmp_code : -1; return;
	case K_TOS: v[0] = f->tos; return;
	case K_PACKETS: v[0] = (int64_t)(f->packets > INT64_MAX ? INT64_MAX : f->packets); return;
	case K_BYTES: v[0] = (int64_t)(f->bytes > INT64_MAX ? INT64_MAX : f->bytes); return;
	case K_OUT_PACKETS: v[0] = (int64_t)f->rev_packets; return;
	case K_OUT_BYTES: v[0] = (int64_t)f->rev_bytes; return;
	case K_DURATION: v[0] = duration(f); return;
	case K_PPS:
		d = duration(f);
		v[0] = d > 0 ? (int64_t)((double)f->packets * 1000.0 / (double)d) : 0;
		return;
	case K_BPS:
		d = duration(f);
		v[0] = d > 0 ? (int64_t)((double)f->bytes * 8000.0 / (double)d) : 0;
		return;
	case K_BPP: v[0] = f->packets ? (int64_t)(f->bytes / f->packets) : 0; return;
	case K_FLOWS: v[0] = (int64_t)in->flows; return;
	case K_FIRST: v[0] = f->start_ms; return;
	case K_LAST: v[0] = f->end_ms; return;
	case K_GEO: v[0] = f->src_country; v[1] = f->dst_country; *n = 2; return;
	}
	v[0] = 0;
}

static bool
side_match(enum side side, bool src, bool dst)
{
	switch (side) {
	case S_SRC: return src;
	case S_DST: return dst;
	case S_BOTH: return src && dst;
	default: return src || dst;
	}
}

static bool
num_match(const struct node *nd, const struct expr_input *in)
{
	int64_t v[2];
	int n;

	values(nd, in, v, &n);
	if (n == 1)
		return compare(nd->cmp, v[0], nd->value);
	return side_match(nd->side, compare(nd->cmp, v[0], nd->value),
	    compare(nd->cmp, v[1], nd->value));
}

static bool
in_nums(const struct node *nd, int64_t v)
{
	return bsearch(&v, nd->nums, nd->n_nums, sizeof(*nd->nums), cmp_i64) != NULL;
}

static bool
numset_match(const struct node *nd, const struct expr_input *in)
{
	int64_t v[2];
	int n;

	values(nd, in, v, &n);
	if (n == 1)
		return in_nums(nd, v[0]);
	return side_match(nd->side, in_nums(nd, v[0]), in_nums(nd, v[1]));
}

static bool
addr_test(const struct node *nd, const struct addr *a)
{
	return nd->kind == N_ADDR ? prefix_match(&nd->prefix, a) :
	    prefixset_contains(nd->set, a);
}

static bool
addr_match(const struct node *nd, const struct flow *f)
{
	switch (nd->side) {
	case S_EXPORTER: return addr_test(nd, &f->exporter);
	case S_NEXT_HOP: return addr_test(nd, &f->next_hop);
	case S_BGP_NEXT_HOP: return addr_test(nd, &f->bgp_next_hop);
	default: return side_match(nd->side, addr_test(nd, &f->src), addr_test(nd, &f->dst));
	}
}

static bool
field_match(const struct node *nd, const struct expr_input *in)
{
	struct record_value v;

	if (!in->line || !record_field(in->line, in->len, nd->name, &v))
		return false;
	if (nd->text)
		return v.is_string && strcmp(v.text, nd->text) == 0;
	if (v.is_string)
		return false;
	double d = strtod(v.text, NULL);
	switch (nd->cmp) {
	case C_EQ: return d == nd->fvalue;
	case C_GT: return d > nd->fvalue;
	case C_LT: return d < nd->fvalue;
	case C_GE: return d >= nd->fvalue;
	case C_LE: return d <= nd->fvalue;
	}
	return false;
}

static bool
eval(const struct node *nd, const struct expr_input *in)
{
	const struct flow *f = in->flow;

	switch (nd->kind) {
	case N_AND: return eval(nd->a, in) && eval(nd->b, in);
	case N_OR: return eval(nd->a, in) || eval(nd->b, in);
	case N_NOT: return !eval(nd->a, in);
	case N_ANY: return true;
	case N_NUM: return num_match(nd, in);
	case N_NUMSET: return numset_match(nd, in);
	case N_ADDR: case N_ADDRSET: return addr_match(nd, f);
	case N_FAMILY: return f->src.family == nd->value && f->dst.family == nd->value;
	case N_FLAGS: return (f->tcp_flags & nd->value) == nd->value;
	case N_FORMAT:
		return nd->value == (f->sflow ? FMT_SFLOW : f->version == 10 ? FMT_IPFIX : FMT_NETFLOW);
	case N_SAMPLED: return f->sampling_interval > 1;
	case N_FIELD: return field_match(nd, in);
	case N_IFNAME:
		return side_match(nd->side, f->in_if_name && strcmp(intern_str(f->in_if_name), nd->name) == 0,
		    f->out_if_name && strcmp(intern_str(f->out_if_name), nd->name) == 0);
	}
	return false;
}

bool
expr_match(const struct expr *e, const struct expr_input *in)
{
	return eval(e->root, in);
}
