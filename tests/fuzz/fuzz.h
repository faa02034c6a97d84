/* Shared by the fuzz targets: parsers with default and with small limits
 * (so that eviction paths run), a source, the state checksum. */
#ifndef NETFLOWD_FUZZ_H
#define NETFLOWD_FUZZ_H

#include <stdint.h>
#include <string.h>

#include "parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_record(const struct flow_record *rec, void *arg)
{
	volatile uint64_t sink = 0;

	/* touch what a consumer touches */
	for (size_t i = 0; i < rec->nextra; i++)
		for (size_t j = 0; j < rec->extra[i].len; j++)
			sink += rec->extra[i].data[j];
	sink += rec->src->received_ms;
	(void)sink;
}

static const struct parser_ops fuzz_ops = { .record = fuzz_record };

/* default limits but smaller tables: a fresh parser per input must be
 * cheap for the fuzzer to run fast */
static const struct parser_limits fuzz_limits = {
	.max_templates = 512, .max_if_names = 256, .max_exporters = 16,
	.max_sflow_sources = 256,
};

static inline struct parser *
fuzz_parser(void)
{
	return parser_new(&fuzz_limits, &fuzz_ops, NULL);
}

static const struct parser_limits fuzz_small_limits = {
	.max_templates = 8, .max_fields = 64, .max_template_fields = 128,
	.max_exporters = 2, .max_domains = 2, .max_domain_templates = 4,
	.max_held_bytes = 4096, .max_exporter_held_bytes = 2048,
	.held_max_age_ms = 2000, .max_if_names = 4, .max_domain_if_names = 3,
	.max_sflow_sources = 8,
};

static inline struct parser *
fuzz_parser_small(void)
{
	return parser_new(&fuzz_small_limits, &fuzz_ops, NULL);
}

static inline size_t
fuzz_small_budget(void)
{
	return parser_memory_budget(&fuzz_small_limits);
}

static inline struct parser_source
fuzz_source(int64_t ms)
{
	struct parser_source s = { .addr = { .family = 4,
	    .bytes = { 192, 0, 2, 1 } }, .port = 2055, .received_ms = ms };

	return s;
}

/* Rewrites the trailing FNV-1a of a state file to match its payload. */
static inline void
fuzz_fix_checksum(uint8_t *b, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t plen;

	if (len < 24)
		return;
	plen = (size_t)b[12] << 24 | (size_t)b[13] << 16 | (size_t)b[14] << 8 |
	    b[15];
	if (plen != len - 24)
		return;
	for (size_t i = 16; i < 16 + plen; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	for (size_t i = 0; i < 8; i++)
		b[16 + plen + i] = (uint8_t)(h >> (56 - 8 * i));
}

#endif
