/* forward_decode: the Fluentd Forward Protocol v1 as pure functions (bytes in, events out;
 * no sockets), shared by the input (forward.c), the unit tests and the fuzzer.
 *
 * A connection carries a stream of msgpack objects. Each is one of
 *   Message          [tag, time, record, option?]
 *   Forward          [tag, [[time, record], ...], option?]
 *   PackedForward    [tag, bin|str (concatenated [time, record] arrays), option?]
 *   CompressedPackedForward  the same with option compressed: "gzip" (or "zstd"; the bytes
 *                    are one or more concatenated compressed streams)
 * with time an integer (seconds), a float (seconds), or EventTime (ext type 0, 8 bytes:
 * big-endian u32 seconds, u32 nanoseconds). Fluent Bit 2.1+ may send an entry's time as
 * [time, metadata]: the metadata map is ignored. option is a map: size (event count, checked),
 * chunk (answered with {"ack": chunk} once the events are durable), compressed.
 *
 * Records map onto the canonical event (docs/inputs.md "Forward"):
 *   tag            by the tag rule: split (first dotted word -> stream, the rest -> type),
 *                  stream (whole tag -> stream) or type (whole tag -> type)
 *   record keys    stream_name|stream -> stream, event_type|type -> type, event_tag|tag ->
 *                  tag, hw_id|source|host|hostname -> source, message|log -> message,
 *                  severity|level -> severity (when it names one), id, tenant, key,
 *                  correlation_id, trace_id, span_id, labels (map of strings) -> labels,
 *                  network_id, gateway_id -> labels (Magma's td-agent-bit adds them),
 *                  value|data -> data (a map, or a string holding a JSON object: Magma's
 *                  td-agent-bit records carry the event's JSON text in `value`)
 *   other keys     -> data when the record has no value/data; otherwise scalars become
 *                  labels (their text) and the rest is kept in data under "_record"
 * Record keys win over the tag; without any type, forward.default_type is used. */
#ifndef EVD_INPUTS_FORWARD_DECODE_H
#define EVD_INPUTS_FORWARD_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/event.h"
#include "inputs/forward/msgpack.h"

typedef enum fwd_mode { FWD_MESSAGE = 0, FWD_FORWARD, FWD_PACKED, FWD_COMPRESSED } fwd_mode;
typedef enum fwd_compression { FWD_COMP_NONE = 0, FWD_COMP_GZIP, FWD_COMP_ZSTD } fwd_compression;

/* One parsed top-level message. Pointers point into the input bytes. */
typedef struct fwd_message {
  fwd_mode mode;
  const char *tag;          /* not NUL-terminated */
  size_t tag_len;
  /* The entries: Message: "time record" (two objects, flat); Forward: the array's elements
   * (n_entries of them); Packed/Compressed: the bin/str bytes. */
  const uint8_t *entries;
  size_t entries_len;
  size_t n_entries;         /* Forward only */
  fwd_compression compression;
  const char *chunk;        /* option chunk (NULL: none) */
  size_t chunk_len;
  int has_size;
  uint64_t size;            /* option size */
} fwd_message;

/* What the next object of a connection's stream is. */
typedef enum fwd_frame_kind {
  FWD_FRAME_MESSAGE = 0, /* a Message/Forward/PackedForward message: *msg filled */
  FWD_FRAME_HEARTBEAT,   /* msgpack nil (fluentd's TCP heartbeat): ignore */
  FWD_FRAME_PING         /* ["PING", ...] of the handshake: the object is in *obj_p/obj_len */
} fwd_frame_kind;

/* Take the next complete object from p[0..len). Returns 1 with *used (bytes of the object)
 * and *kind (+ *msg for a message), 0 when more bytes are needed (*need: total bytes known
 * to be needed from p, or 0 if unknown), or -1 with a message in err (the stream cannot be
 * resynchronized: close the connection). max_bytes bounds one object. */
int fwd_next_frame(const uint8_t *p, size_t len, size_t max_bytes, size_t *used, size_t *need,
                   fwd_frame_kind *kind, fwd_message *msg, char *err, size_t errlen);

/* Decompress a CompressedPackedForward's entries (gzip, possibly several members; or zstd
 * frames) into out (cleared first), refusing more than max_out bytes. Returns 0, or -1 with
 * err. */
int fwd_decompress(fwd_compression c, const uint8_t *in, size_t len, size_t max_out, buf *out,
                   char *err, size_t errlen);

/* Iterate over the entries: set it up with fwd_entries_init (for Packed/Compressed give the
 * (decompressed) bytes), then fwd_entries_next until it returns 0. */
typedef struct fwd_entries {
  fwd_mode mode;
  mp_reader r;
  size_t left;        /* Forward: elements left; Message: 1 then 0 */
} fwd_entries;

void fwd_entries_init(fwd_entries *it, const fwd_message *m, const uint8_t *bytes, size_t len);

/* The next entry: 1 with *time_ns and the record's bytes (*rec, *rec_len: one complete
 * object), 0 at the end, -1 with err for a malformed entry (the iteration cannot go on). */
int fwd_entries_next(fwd_entries *it, int64_t *time_ns, const uint8_t **rec, size_t *rec_len,
                     char *err, size_t errlen);

/* How the tag maps to stream/type. */
typedef enum fwd_tag_rule { FWD_TAG_SPLIT = 0, FWD_TAG_STREAM, FWD_TAG_TYPE } fwd_tag_rule;

typedef struct fwd_mapping {
  fwd_tag_rule tag_rule;
  const char *default_type; /* type when neither tag nor record gives one ("" = required) */
  int record_time;          /* 1: record keys @timestamp, timestamp, time give the time (RFC
                               3339 or epoch by magnitude) and are not kept in data (JSON
                               lines "record" format); 0: the entry's time only (forward) */
} fwd_mapping;

/* Parse "split" | "stream" | "type". Returns 0 or -1. */
int fwd_tag_rule_parse(const char *s, fwd_tag_rule *out);

/* Fill ev (zeroed first) from one record (the msgpack map rec[0..len)), its time and the
 * message's tag, per the mapping above. Strings point into rec, tag or arena a. Returns 0, or
 * -1 with *err (kind: invalid, limit, out of memory). */
int fwd_record_to_event(const fwd_mapping *map, const char *tag, size_t tag_len, int64_t time_ns,
                        const uint8_t *rec, size_t len, const evd_limits *lim, arena *a,
                        event *ev, evd_field_error *err);

/* The same mapping from a record already parsed into JSON (obj; any JSON type, only an
 * object is accepted). time_ns 0: none (event_finish then uses the time received), unless
 * a record key gives it (map->record_time). Used by the JSON lines input's record format. */
int fwd_object_to_event(const fwd_mapping *map, const char *tag, size_t tag_len, int64_t time_ns,
                        const json_value *obj, const evd_limits *lim, arena *a, event *ev,
                        evd_field_error *err);

/* Append msgpack {"ack": chunk} to out. Returns 0 or -1 (out of memory). */
int fwd_write_ack(buf *out, const char *chunk, size_t chunk_len);

#endif
