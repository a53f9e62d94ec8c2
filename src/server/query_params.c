/* query_params: see query_params.h. */
#include "server/query_params.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/event.h"
#include "core/keymatch.h"
#include "core/timeutil.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Copy at most 64 bytes of s into out for an error message, replacing anything that is not
 * printable ASCII by '?' (the message goes into JSON and logs). */
static const char *printable(const char *s, size_t n, char out[80]) {
  size_t k = n < 64 ? n : 64;
  for (size_t i = 0; i < k; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
  }
  if (n > 64) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  out[k] = '\0';
  return out;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *query_decode(arena *a, const char *s, size_t n, int plus_space, size_t *outlen, int *oom) {
  *oom = 0;
  char *out = arena_alloc(a, n + 1);
  if (!out) {
    *oom = 1;
    return NULL;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '%') {
      if (i + 2 >= n) return NULL;
      int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0) return NULL;
      ch = (unsigned char)(hi * 16 + lo);
      i += 2;
      if (ch == 0) return NULL;
    } else if (ch == '+' && plus_space) {
      ch = ' ';
    } else if (ch == 0) {
      return NULL;
    }
    out[o++] = (char)ch;
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

/* ---- cursor --------------------------------------------------------------------------- */

#define CURSOR_VERSION 1
#define CURSOR_RAW 20 /* version, flags, time_ns (8), seq (8), check (2) */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint16_t cursor_check(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a, folded to 16 bits */
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return (uint16_t)(h ^ (h >> 16));
}

void cursor_encode(const store_pos *pos, int desc, char out[CURSOR_LEN + 1]) {
  unsigned char raw[CURSOR_RAW + 1] = {0}; /* +1: a zero byte pads the last 3-byte group */
  raw[0] = CURSOR_VERSION;
  raw[1] = desc ? 1 : 0;
  uint64_t t = (uint64_t)pos->time_ns, s = pos->seq;
  for (int i = 0; i < 8; i++) {
    raw[2 + i] = (unsigned char)(t >> (8 * i));
    raw[10 + i] = (unsigned char)(s >> (8 * i));
  }
  uint16_t c = cursor_check(raw, 18);
  raw[18] = (unsigned char)c;
  raw[19] = (unsigned char)(c >> 8);
  size_t o = 0;
  for (size_t i = 0; i < CURSOR_RAW; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
    out[o++] = B64URL[(v >> 18) & 63];
    out[o++] = B64URL[(v >> 12) & 63];
    if (i + 1 < CURSOR_RAW) out[o++] = B64URL[(v >> 6) & 63];
    if (i + 2 < CURSOR_RAW) out[o++] = B64URL[v & 63];
  }
  out[o] = '\0';
}

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

int cursor_decode(const char *s, size_t n, store_pos *pos, int *desc) {
  if (n != CURSOR_LEN) return -1;
  unsigned char raw[CURSOR_RAW + 2] = {0};
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val((unsigned char)s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (o != CURSOR_RAW || acc != 0) return -1; /* leftover bits must be zero (canonical) */
  if (raw[0] != CURSOR_VERSION || raw[1] > 1) return -1;
  uint16_t c = (uint16_t)(raw[18] | raw[19] << 8);
  if (c != cursor_check(raw, 18)) return -1;
  uint64_t t = 0, sq = 0;
  for (int i = 7; i >= 0; i--) {
    t = t << 8 | raw[2 + i];
    sq = sq << 8 | raw[10 + i];
  }
  if (sq == 0) return -1;
  pos->time_ns = (int64_t)t;
  pos->seq = sq;
  *desc = raw[1];
  return 0;
}

/* ---- parameters ----------------------------------------------------------------------- */

enum {
  P_STREAM, P_TYPE, P_TAG, P_SOURCE, P_TENANT, P_CORRELATION_ID, P_SEVERITY, P_LABEL, P_KEY,
  P_SINCE, P_UNTIL, P_Q, P_LIMIT, P_ORDER, P_CURSOR, P_INTERVAL, P_BY, P_LAST_EVENT_ID,
  P_ARCHIVED, P__COUNT
};

#define EP_ALL ((1u << QP_QUERY) | (1u << QP_COUNT) | (1u << QP_HISTOGRAM) | (1u << QP_TAIL))

static const struct {
  const char *name;
  unsigned endpoints; /* bit per qp_endpoint */
} PARAMS[P__COUNT] = {
    [P_STREAM] = {"stream", EP_ALL},
    [P_TYPE] = {"type", EP_ALL},
    [P_TAG] = {"tag", EP_ALL},
    [P_SOURCE] = {"source", EP_ALL},
    [P_TENANT] = {"tenant", EP_ALL},
    [P_CORRELATION_ID] = {"correlation_id", EP_ALL},
    [P_SEVERITY] = {"severity", EP_ALL},
    [P_LABEL] = {"label", EP_ALL},
    [P_KEY] = {"key", EP_ALL},
    [P_SINCE] = {"since", EP_ALL},
    [P_UNTIL] = {"until", EP_ALL},
    [P_Q] = {"q", EP_ALL},
    [P_LIMIT] = {"limit", 1u << QP_QUERY},
    [P_ORDER] = {"order", 1u << QP_QUERY},
    [P_CURSOR] = {"cursor", 1u << QP_QUERY},
    [P_INTERVAL] = {"interval", 1u << QP_HISTOGRAM},
    [P_BY] = {"by", 1u << QP_HISTOGRAM},
    [P_LAST_EVENT_ID] = {"last_event_id", 1u << QP_TAIL},
    [P_ARCHIVED] = {"archived", EP_ALL}, /* docs/lifecycle.md */
};

static const char *const ENDPOINT_NAMES[] = {"/v1/events", "/v1/events/count",
                                             "/v1/events/histogram", "/v1/tail"};

/* The words of a routing pattern contain a wildcard ("*" or "#" as a whole word). */
static int pattern_has_wildcard(const char *p, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || p[i] == '.') {
      if (i - start == 1 && (p[start] == '*' || p[start] == '#')) return 1;
      start = i + 1;
    }
  }
  return 0;
}

/* Apply one decoded parameter. Returns 0 or -1 with err. */
static int apply_param(int which, const char *v, size_t vn, int64_t now_ns, const qp_limits *lim,
                       query_params *out, int *order_given, char *err, size_t errlen) {
  char pv[80];
  store_filter *f = &out->filter;
  switch (which) {
    case P_STREAM: f->exact[EVF_STREAM] = v; return 0;
    case P_TAG: f->exact[EVF_TAG] = v; return 0;
    case P_SOURCE: f->exact[EVF_SOURCE] = v; return 0;
    case P_TENANT: f->exact[EVF_TENANT] = v; return 0;
    case P_CORRELATION_ID: f->exact[EVF_CORRELATION_ID] = v; return 0;
    case P_Q: f->q = v; return 0;
    case P_TYPE: {
      if (vn == 1 && v[0] == '*') return 0; /* every type */
      if (vn >= 2 && v[vn - 1] == '*' && v[vn - 2] == '.') {
        if (memchr(v, '*', vn - 1)) goto bad_type;
        ((char *)v)[vn - 1] = '\0'; /* our arena copy: drop the '*', keep the dot */
        f->type_prefix = v;
        return 0;
      }
      if (memchr(v, '*', vn)) goto bad_type;
      f->exact[EVF_TYPE] = v;
      return 0;
    bad_type:
      set_err(err, errlen,
              "parameter 'type': '%s' is neither a type nor a prefix ending in '.*' "
              "(e.g. account.*)",
              printable(v, vn, pv));
      return -1;
    }
    case P_KEY:
      if (!routing_pattern_valid(v, vn)) {
        set_err(err, errlen,
                "parameter 'key': '%s' is not a routing pattern (dot-separated words; '*' "
                "matches one word, '#' zero or more)",
                printable(v, vn, pv));
        return -1;
      }
      if (pattern_has_wildcard(v, vn)) f->key_pattern = v;
      else f->exact[EVF_KEY] = v;
      return 0;
    case P_SEVERITY: {
      int sev = -1;
      if (isdigit((unsigned char)v[0])) {
        sev = 0;
        for (size_t i = 0; i < vn && sev >= 0; i++) {
          if (!isdigit((unsigned char)v[i]) || sev > 100) sev = -1;
          else sev = sev * 10 + (v[i] - '0');
        }
        if (sev < 1 || sev > 24) sev = -1;
      } else {
        sev = severity_from_text(v, vn);
      }
      if (sev < 1) {
        set_err(err, errlen,
                "parameter 'severity': '%s' is not a severity (TRACE, DEBUG, INFO, WARN, "
                "ERROR, FATAL or a number 1-24)",
                printable(v, vn, pv));
        return -1;
      }
      f->min_severity = sev;
      return 0;
    }
    case P_LABEL: {
      const char *colon = memchr(v, ':', vn);
      if (!colon || colon == v || colon == v + vn - 1) {
        set_err(err, errlen, "parameter 'label': '%s' is not KEY:VALUE", printable(v, vn, pv));
        return -1;
      }
      if (f->nlabels >= STORE_FILTER_MAX_LABELS) {
        set_err(err, errlen, "parameter 'label': at most %d label filters",
                STORE_FILTER_MAX_LABELS);
        return -1;
      }
      /* v is our own arena copy: cut it at the colon. */
      char *mv = (char *)v;
      mv[colon - v] = '\0';
      f->labels[f->nlabels].key = mv;
      f->labels[f->nlabels].value = colon + 1;
      f->nlabels++;
      return 0;
    }
    case P_SINCE:
    case P_UNTIL: {
      int64_t t;
      if (time_parse_user(v, now_ns, &t) != 0) {
        set_err(err, errlen,
                "parameter '%s': '%s' is not a time (RFC 3339, epoch seconds/ms/us/ns, 'now' "
                "or relative like -15m)",
                PARAMS[which].name, printable(v, vn, pv));
        return -1;
      }
      if (which == P_SINCE) {
        f->since_ns = t;
        out->has_since = 1;
      } else {
        f->until_ns = t;
      }
      return 0;
    }
    case P_ARCHIVED: /* archived events (docs/lifecycle.md): hidden by default */
      if (strcmp(v, "true") == 0) out->filter.archived = STORE_ARCHIVED_ONLY;
      else if (strcmp(v, "false") == 0) out->filter.archived = STORE_ARCHIVED_HIDE;
      else if (strcmp(v, "any") == 0) out->filter.archived = STORE_ARCHIVED_INCLUDE;
      else {
        set_err(err, errlen, "parameter 'archived': '%s' is not true, false or any",
                printable(v, vn, pv));
        return -1;
      }
      return 0;
    case P_LIMIT: {
      uint64_t n = 0;
      int ok = vn > 0 && vn <= 12;
      for (size_t i = 0; i < vn && ok; i++) {
        if (!isdigit((unsigned char)v[i])) ok = 0;
        else n = n * 10 + (uint64_t)(v[i] - '0');
      }
      if (!ok || n < 1 || n > lim->max_limit) {
        set_err(err, errlen, "parameter 'limit': '%s' is not a number between 1 and %zu",
                printable(v, vn, pv), lim->max_limit);
        return -1;
      }
      out->limit = (size_t)n;
      return 0;
    }
    case P_ORDER:
      if (strcmp(v, "asc") == 0) out->desc = 0;
      else if (strcmp(v, "desc") == 0) out->desc = 1;
      else {
        set_err(err, errlen, "parameter 'order': '%s' is not asc or desc", printable(v, vn, pv));
        return -1;
      }
      *order_given = 1;
      return 0;
    case P_CURSOR: {
      int cdesc;
      if (cursor_decode(v, vn, &out->cursor, &cdesc) != 0) {
        set_err(err, errlen, "parameter 'cursor': '%s' is not a cursor from a previous page",
                printable(v, vn, pv));
        return -1;
      }
      out->has_cursor = 1;
      /* Remember the cursor's order in bit 1 of order_given, checked after all params. */
      *order_given |= cdesc ? 4 : 2;
      return 0;
    }
    case P_INTERVAL: {
      int64_t ns;
      if (time_parse_duration(v, &ns) != 0 || ns <= 0) {
        set_err(err, errlen, "parameter 'interval': '%s' is not a positive duration (e.g. 1m)",
                printable(v, vn, pv));
        return -1;
      }
      out->interval_ns = ns;
      out->interval_text = v;
      return 0;
    }
    case P_BY:
      if (strcmp(v, "type") == 0) out->by = STORE_GROUP_TYPE;
      else if (strcmp(v, "stream") == 0) out->by = STORE_GROUP_STREAM;
      else if (strcmp(v, "source") == 0) out->by = STORE_GROUP_SOURCE;
      else if (strcmp(v, "severity") == 0) out->by = STORE_GROUP_SEVERITY;
      else {
        set_err(err, errlen, "parameter 'by': '%s' is not type, stream, severity or source",
                printable(v, vn, pv));
        return -1;
      }
      return 0;
    case P_LAST_EVENT_ID:
      out->last_event_id = v;
      out->last_event_id_len = vn;
      return 0;
  }
  return 0;
}

int query_params_parse(const char *qs, size_t len, qp_endpoint ep, const qp_limits *lim,
                       int64_t now_ns, arena *a, query_params *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  store_filter_init(&out->filter);
  out->filter.archived = STORE_ARCHIVED_HIDE; /* ?archived=true|any shows them */
  out->limit = lim->default_limit;
  out->desc = 1;
  out->by = STORE_GROUP_NONE;
  unsigned seen = 0;
  int order_given = 0;
  char pv[80];
  size_t i = 0;
  while (qs && i < len) {
    const char *amp = memchr(qs + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - qs) : len;
    const char *seg = qs + i;
    size_t sn = end - i;
    i = end + 1;
    if (sn == 0) continue; /* "a=1&&b=2" */
    const char *eq = memchr(seg, '=', sn);
    size_t kn = eq ? (size_t)(eq - seg) : sn;
    int oom = 0;
    size_t klen = 0, vlen = 0;
    char *key = query_decode(a, seg, kn, 1, &klen, &oom);
    if (!key) {
      if (oom) set_err(err, errlen, "out of memory");
      else set_err(err, errlen, "malformed query string near '%s'", printable(seg, sn, pv));
      return -1;
    }
    int which = -1;
    for (int p = 0; p < P__COUNT; p++)
      if (strcmp(PARAMS[p].name, key) == 0) which = p;
    if (which < 0 || !(PARAMS[which].endpoints & (1u << ep))) {
      set_err(err, errlen, "unknown query parameter '%s' for %s", printable(key, klen, pv),
              ENDPOINT_NAMES[ep]);
      return -1;
    }
    if (!eq) {
      set_err(err, errlen, "parameter '%s' has no value", PARAMS[which].name);
      return -1;
    }
    if (which != P_LABEL && (seen & (1u << which))) {
      set_err(err, errlen, "parameter '%s' is given more than once", PARAMS[which].name);
      return -1;
    }
    seen |= 1u << which;
    char *val = query_decode(a, eq + 1, sn - kn - 1, 1, &vlen, &oom);
    if (!val) {
      if (oom) set_err(err, errlen, "out of memory");
      else
        set_err(err, errlen, "parameter '%s': malformed percent-encoding or NUL byte",
                PARAMS[which].name);
      return -1;
    }
    if (vlen == 0) {
      set_err(err, errlen, "parameter '%s' is empty", PARAMS[which].name);
      return -1;
    }
    if (apply_param(which, val, vlen, now_ns, lim, out, &order_given, err, errlen) != 0)
      return -1;
  }
  if (out->has_cursor) {
    int cdesc = (order_given & 4) ? 1 : 0;
    if ((order_given & 1) && cdesc != out->desc) {
      set_err(err, errlen, "parameter 'cursor' belongs to a query with order=%s",
              cdesc ? "desc" : "asc");
      return -1;
    }
    out->desc = cdesc;
  }
  if (ep == QP_HISTOGRAM && out->interval_ns == 0) {
    set_err(err, errlen, "parameter 'interval' is required (e.g. interval=1m)");
    return -1;
  }
  return 0;
}
