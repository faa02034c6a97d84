/* record: one JSON line of netflowd output -> struct flow. */
#ifndef ANALYZER_RECORD_H
#define ANALYZER_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "flow.h"

enum record_result {
	RECORD_FLOW,		/* *flow filled in */
	RECORD_NOT_FLOW,	/* options data or another non-flow type: skip silently */
	RECORD_EMPTY,		/* blank line */
	RECORD_MALFORMED,	/* not a JSON object, bad value types, bad times */
	RECORD_INCOMPLETE,	/* valid JSON but no addresses or no time at all */
	/* A firewall's periodic flow-update event (firewallEvent 5): ASA NSEL
	 * sends the connection's totals again in its flow-teardown record, so
	 * counting updates too would count their bytes twice. */
	RECORD_FW_UPDATE,
	RECORD_NOT_FAST,	/* RECORD_PATH_FAST only: the fast path declined */
};

/* Which reader a line goes through: netflowd's own lines take a scanner
 * written for them, anything else (or what it declines) the full JSON
 * parser; both must give the same result (a test holds them to it). */
enum record_path { RECORD_PATH_AUTO, RECORD_PATH_FAST, RECORD_PATH_FULL };

struct record_parser;

struct record_parser *record_parser_new(void);
void record_parser_free(struct record_parser *rp);
enum record_result record_parse(struct record_parser *rp, const char *line,
    size_t len, struct flow *flow);
enum record_result record_parse_path(struct record_parser *rp, const char *line,
    size_t len, struct flow *flow, enum record_path path);
/* The value of a top-level key of a JSON line, as text (a string decoded,
 * a number, true or false as written); false when the line has no such
 * key or it holds an object, an array or null. */
#define RECORD_VALUE_MAX 256
struct record_value {
	bool is_string;
	char text[RECORD_VALUE_MAX];
};
bool record_field(const char *line, size_t len, const char *name, struct record_value *v);
/* Leave the lenient keys that are numbers or next hops (tcp_flags, tos,
 * interfaces, ASes, masks, VLANs, next_hop, bgpNextHop*) undecoded, as
 * if missing: for callers that read none of them. A bad value there never
 * decides a line's result, so every line still gets the same one. Names
 * and countries are still read (intern counts what it refuses). */
void record_parser_core_only(struct record_parser *rp, bool on);
/* Lines each path read so far. */
void record_parser_paths(const struct record_parser *rp, uint64_t *fast, uint64_t *slow);

#endif
