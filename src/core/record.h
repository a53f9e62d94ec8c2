/* record: the stored form of one event — the payload of a journal record.
 *
 * Layout (version 1, little-endian; docs/storage.md is the reference):
 *
 *   off  size  field
 *   0    1     version (1)
 *   1    1     flags: bit 0 = id supplied by the client
 *   2    1     severity_number (1..24)
 *   3    1     nstr: number of string slots that follow (EVF__COUNT when written)
 *   4    4     json_off: offset of the canonical JSON in the payload
 *   8    8     time_ns (int64)
 *   16   8     observed_ns (int64)
 *   24   2     id_len, then id bytes (an assigned id is ULID_LEN bytes at offset 26)
 *   ..         nstr x (u32 len, bytes): the string fields in evd_field order
 *   ..   2     nlabels, then nlabels x (u16 klen, key, u32 vlen, value)
 *   json_off   canonical JSON (event_write_json) up to the end of the payload
 *
 * The header duplicates what queries filter on, so filtering never parses JSON; the JSON
 * is what query answers and outputs send, copied as is. A reader accepts nstr larger than
 * it knows (newer writer) and ignores the extra slots. */
#ifndef EVD_RECORD_H
#define EVD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/event.h"
#include "core/ulid.h"

#define RECORD_VERSION 1
#define RECORD_FLAG_CLIENT_ID 0x01
#define RECORD_ID_OFFSET 26      /* where an assigned id's bytes start */
#define RECORD_JSON_ID_OFFSET 7  /* where the id starts inside the JSON ({"id":") */

/* Append the record payload of ev to out. If ev->id is empty the id is a placeholder of
 * ULID_LEN '0' characters, to be filled by record_patch_id before the record is written.
 * Returns 0, or -1 when out of memory or a field exceeds the format (len > UINT32_MAX). */
int record_encode(const event *ev, buf *out);

/* Write an assigned id into both places of an encoded payload (header and JSON). The payload
 * must have been encoded by record_encode from an event without a client id. */
void record_patch_id(void *payload, size_t len, const char id[ULID_LEN]);

/* A decoded record: views into the payload, valid as long as the payload is. */
typedef struct record_view {
  uint8_t flags;
  uint8_t severity;
  int64_t time_ns;
  int64_t observed_ns;
  strv id;
  strv f[EVF__COUNT];        /* slots the record lacks are empty */
  uint16_t nlabels;
  const unsigned char *labels; /* raw label area; iterate with record_label_next */
  size_t labels_len;
  strv json;                 /* canonical JSON */
} record_view;

/* Decode and bounds-check a payload. Returns 0, or -1 if it is malformed (truncated, bad
 * version, lengths out of range) — never reads outside payload[0..len). */
int record_decode(const void *payload, size_t len, record_view *rv);

/* Iterate labels: start with *pos = 0; returns 1 and fills key/value while there are more,
 * 0 at the end (record_decode already checked the bounds). */
int record_label_next(const record_view *rv, size_t *pos, strv *key, strv *value);

/* Value of label `key` in the record, or an empty strv. */
strv record_label_get(const record_view *rv, const char *key, size_t klen);

#endif
