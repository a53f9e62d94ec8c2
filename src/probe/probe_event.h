/* probe_event: one host anomaly found by eventd-probe, before it is written for a sink.
 *
 * An event has a type from the fixed table of docs/probe.md ("process.oom_kill", ...), a
 * severity number (OpenTelemetry scale: INFO 9, WARN 13, ERROR 17, FATAL 21), a time, the
 * kernel's or the log's own line as message, the name of the rule that matched, the source
 * that produced it ("kmsg", "proc_connector", "tail", "pstore", "probe"), an optional
 * idempotency id, a de-duplication key, and an ordered list of typed data members.
 *
 * Writers: probe_event_write_eventd() gives eventd's event object (docs/api.md, "The event
 * object"); probe_event_write_gala() gives gala-gopher's Kafka event JSON (Timestamp,
 * event_id, Attributes, Resource{metric, labels}, SeverityText, SeverityNumber, Body). Both
 * replace invalid UTF-8 in strings by U+FFFD, so any kernel text can be written.
 *
 * An event owns its strings (malloc); probe_event_free releases them. Not thread-safe. */
#ifndef EVD_PROBE_EVENT_H
#define EVD_PROBE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define PROBE_SEV_INFO 9
#define PROBE_SEV_WARN 13
#define PROBE_SEV_ERROR 17
#define PROBE_SEV_FATAL 21

#define PROBE_MAX_FIELDS 24

typedef enum { PF_NULL, PF_INT, PF_UINT, PF_DOUBLE, PF_BOOL, PF_STR } probe_field_kind;

typedef struct probe_field {
  const char *key;  /* static string */
  probe_field_kind kind;
  int64_t i;        /* PF_INT, PF_BOOL */
  uint64_t u;       /* PF_UINT */
  double d;         /* PF_DOUBLE */
  char *s;          /* PF_STR: owned, NUL-terminated */
  size_t n;         /* PF_STR length */
} probe_field;

typedef struct probe_event {
  char type[48];
  int severity;        /* PROBE_SEV_* */
  int64_t time_ns;     /* event time, Unix ns */
  char rule[48];       /* the rule that matched: "kmsg.oom_kill" */
  char source[24];     /* "kmsg", "proc_connector", "tail", "pstore", "probe" */
  char *message;       /* owned; may be NULL */
  char *id;            /* owned idempotency key (printable ASCII); may be NULL */
  char dedup_key[160]; /* events of one type with the same key are duplicates in a window */
  probe_field fields[PROBE_MAX_FIELDS];
  int nfields;
} probe_event;

/* Host facts written as resource attributes (host.name, host.id, os.type, kernel release)
 * and used by the Kafka shape. Filled by probe_host_load (hostinfo.c). */
typedef struct probe_host {
  char name[256];       /* gethostname */
  char id[64];          /* /etc/machine-id, "" when absent */
  char kernel[128];     /* uname -r */
  char boot_id[64];     /* /proc/sys/kernel/random/boot_id, "" when absent */
  char ip[64];          /* first non-loopback IPv4 address, "" when none */
} probe_host;

/* Fill h from the running system. Never fails: missing facts are empty strings. */
void probe_host_load(probe_host *h);

/* Start a new event: zeroes ev and sets type, severity, rule and source (truncated to the
 * array sizes; callers pass short constants). time_ns 0 means "now" at write time. */
void probe_event_init(probe_event *ev, const char *type, int severity, const char *rule, const char *source);
/* Release the owned strings; ev may be re-initialized afterwards. */
void probe_event_free(probe_event *ev);
/* Move src into dst (dst must be free); src becomes empty. */
void probe_event_move(probe_event *dst, probe_event *src);

/* Set (or replace) data member key. key must be a static string. Return 0, or -1 when the
 * member table is full or out of memory. */
int probe_event_set_int(probe_event *ev, const char *key, int64_t v);
int probe_event_set_uint(probe_event *ev, const char *key, uint64_t v);
int probe_event_set_double(probe_event *ev, const char *key, double v);
int probe_event_set_bool(probe_event *ev, const char *key, int v);
int probe_event_set_null(probe_event *ev, const char *key);
int probe_event_set_str(probe_event *ev, const char *key, const char *s, size_t n);
int probe_event_set_cstr(probe_event *ev, const char *key, const char *s);
/* The member named key, or NULL. */
const probe_field *probe_event_get(const probe_event *ev, const char *key);
/* Replace the message / id (copies). Return 0 or -1 (out of memory). */
int probe_event_set_message(probe_event *ev, const char *s, size_t n);
int probe_event_set_id(probe_event *ev, const char *s);

/* Name of a severity number: "INFO", "WARN", "ERROR", "FATAL" (nearest band). */
const char *probe_severity_name(int severity);

/* Append ev as one eventd event object (no newline) to out. stream is "host", source the
 * host name; labels carry the rule and the probe source; resource the host facts.
 * Returns 0, or -1 when out of memory. */
int probe_event_write_eventd(const probe_event *ev, const probe_host *h, buf *out);

/* Append ev in gala-gopher's Kafka event shape (no newline). Returns 0 or -1. */
int probe_event_write_gala(const probe_event *ev, const probe_host *h, buf *out);

/* Append s[0..n) to out with invalid UTF-8 bytes replaced by U+FFFD (no escaping). 0 or -1. */
int probe_utf8_repair(buf *out, const char *s, size_t n);

/* Append s[0..n) as a JSON string literal, replacing invalid UTF-8 by U+FFFD. 0 or -1. */
int probe_json_string(buf *out, const char *s, size_t n);

#endif
