#include "intern.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oatab.h"

/* Strings with one 64-bit hash share an oatab entry (a chain), so that a
 * collision costs a compare, never a wrong id. */
struct ientry {
	uint64_t hash;		/* the oatab key */
	struct ientry *same;	/* next string with this hash */
	uint32_t id;
	uint16_t len;
	char text[];
};

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define N_CHUNKS (INTERN_MAX / CHUNK + 1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct oatab table;
static bool table_ready;
/* id -> entry in chunks that never move: intern_str reads them without
 * the lock (an id reaches a reader only after the write that stored it). */
static struct ientry **chunks[N_CHUNKS];
static uint32_t next_id = 1;
static uint64_t refused;

/* The length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s made valid UTF-8 of at most INTERN_LEN_MAX bytes, into out; its length. */
static size_t
sanitize(const char *s, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		const char *take = n ? s + i : "\xef\xbf\xbd";
		size_t tl = n ? n : 3;
		if (o + tl > INTERN_LEN_MAX)
			break;
		memcpy(out + o, take, tl);
		o += tl;
		i += n ? n : 1;
	}
	return o;
}

static struct ientry *
add(const char *s, size_t len, uint64_t h, struct ientry *chain)
{
	uint32_t id = next_id;

	if (id > INTERN_MAX)
		return NULL;
	struct ientry ***chunk = &chunks[id >> CHUNK_BITS];
	if (!*chunk && !(*chunk = calloc(CHUNK, sizeof(**chunk))))
		return NULL;
	struct ientry *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->hash = h;
	e->id = id;
	e->len = (uint16_t)len;
	memcpy(e->text, s, len);
	e->text[len] = '\0';
	if (chain) {
		e->same = chain->same;
		chain->same = e;
	} else {
		e->same = NULL;
		if (oatab_insert(&table, e, h) < 0) {
			free(e);
			return NULL;
		}
	}
	(*chunk)[id & (CHUNK - 1)] = e;
	next_id++;
	return e;
}

uint32_t
intern(const char *s, size_t len)
{
	char clean[INTERN_LEN_MAX];
	uint32_t id = 0;

	len = sanitize(s, len, clean);
	if (len == 0)
		return 0;
	/* The string's hash is the oatab key and, being a hash already, also
	 * the hash oatab is handed for that key. */
	uint64_t h = oatab_hash(clean, len);
	pthread_mutex_lock(&lock);
	if (!table_ready) {
		oatab_init(&table, offsetof(struct ientry, hash), sizeof(uint64_t));
		table_ready = true;
	}
	struct ientry *chain = oatab_find(&table, &h, h);
	for (struct ientry *e = chain; e && !id; e = e->same)
		if (e->len == len && memcmp(e->text, clean, len) == 0)
			id = e->id;
	if (!id) {
		struct ientry *e = add(clean, len, h, chain);
		if (e)
			id = e->id;
		else
			refused++;
	}
	pthread_mutex_unlock(&lock);
	return id;
}

const char *
intern_str(uint32_t id)
{
	if (id == 0 || id > INTERN_MAX || !chunks[id >> CHUNK_BITS])
		return "";
	struct ientry *e = chunks[id >> CHUNK_BITS][id & (CHUNK - 1)];
	return e ? e->text : "";
}

uint64_t
intern_refused(void)
{
	pthread_mutex_lock(&lock);
	uint64_t n = refused;
	pthread_mutex_unlock(&lock);
	return n;
}

void
intern_finish(void)
{
	pthread_mutex_lock(&lock);
	for (size_t c = 0; c < N_CHUNKS; c++) {
		if (!chunks[c])
			continue;
		for (size_t i = 0; i < CHUNK; i++)
			free(chunks[c][i]);
		free(chunks[c]);
		chunks[c] = NULL;
	}
	if (table_ready)
		oatab_finish(&table);
	table_ready = false;
	next_id = 1;
	refused = 0;
	pthread_mutex_unlock(&lock);
}
