/* msgpack: a small, bounds-checked, zero-copy MessagePack reader (the subset the Fluentd
 * Forward Protocol needs, which is all of MessagePack: nil, bool, ints, floats, str, bin,
 * array, map, ext).
 *
 * mp_read reads one object header from r: scalars completely; str/bin/ext with a pointer to
 * their bytes (inside the input, nothing copied); array/map with only their element count
 * (the elements follow). Nothing is allocated and nothing is read past r->end.
 *
 * mp_skip steps over one whole object (containers included) without recursion: it keeps a
 * count of the objects still to read, so a deeply nested input cannot exhaust the stack.
 *
 * mp_to_json converts one object into a json_value tree (core/json.h) allocated in an
 * arena, with JSON's rules: map keys must be strings (str, or bin holding UTF-8), strings
 * valid UTF-8, no duplicate keys, finite floats, nesting within max_depth. */
#ifndef EVD_INPUTS_FORWARD_MSGPACK_H
#define EVD_INPUTS_FORWARD_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/json.h"

typedef enum mp_type {
  MP_NIL = 0,
  MP_BOOL,
  MP_UINT,  /* positive fixint, uint 8..64 */
  MP_INT,   /* negative fixint, int 8..64 (a non-negative int 8..64 is MP_UINT) */
  MP_FLOAT, /* float 32 / 64 */
  MP_STR,
  MP_BIN,
  MP_ARRAY,
  MP_MAP,
  MP_EXT
} mp_type;

typedef struct mp_obj {
  mp_type type;
  int boolean;        /* MP_BOOL */
  uint64_t u;         /* MP_UINT */
  int64_t i;          /* MP_INT (and MP_UINT values <= INT64_MAX) */
  double f;           /* MP_FLOAT */
  const uint8_t *p;   /* MP_STR, MP_BIN, MP_EXT: the bytes (inside the input) */
  uint32_t n;         /* MP_STR/BIN/EXT: byte length; MP_ARRAY: elements; MP_MAP: pairs */
  int8_t ext_type;    /* MP_EXT */
} mp_obj;

typedef struct mp_reader {
  const uint8_t *p;   /* next byte */
  const uint8_t *end; /* one past the last byte */
} mp_reader;

enum { MP_OK = 0, MP_NEED_MORE = 1, MP_INVALID = -1 };

static inline void mp_reader_init(mp_reader *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->end = p + len;
}

/* Read one object header (see above). Returns MP_OK (r advanced past the header and, for
 * str/bin/ext, their bytes), MP_NEED_MORE (the input ends inside it; r unchanged; *need, when
 * not NULL, gets the total bytes from r->p the header says it needs, at least one more than
 * available) or MP_INVALID (0xc1, the one byte MessagePack never uses; r unchanged). */
int mp_read(mp_reader *r, mp_obj *o, size_t *need);

/* Step over one complete object. Returns MP_OK (r advanced), MP_NEED_MORE (r unchanged;
 * *need as for mp_read, counted from where r was) or MP_INVALID. */
int mp_skip(mp_reader *r, size_t *need);

/* Convert the next object of r into JSON (see above) in arena a. Returns the value, or NULL
 * with a message in err (also "out of memory"). The object must be complete (mp_skip first). */
json_value *mp_to_json(mp_reader *r, arena *a, int max_depth, char *err, size_t errlen);

/* 1 if o is a string (str, or bin) equal to lit. */
int mp_str_is(const mp_obj *o, const char *lit);

#endif
