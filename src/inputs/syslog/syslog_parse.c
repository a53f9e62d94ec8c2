/* syslog_parse: see syslog_parse.h. Grammars: RFC 5424 section 6, RFC 3164 section 4.1,
 * RFC 6587 section 3.4. */
#include "inputs/syslog/syslog_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/timeutil.h"

static int sfail(evd_field_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sfail(evd_field_error *err, const char *field, const char *fmt, ...) {
  err->kind = EVD_ERR_INVALID;
  snprintf(err->field, sizeof err->field, "%s", field);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  return -1;
}

static int nomem(evd_field_error *err) {
  sfail(err, "", "out of memory");
  err->kind = EVD_ERR_NOMEM;
  return -1;
}

/* ---- framing ------------------------------------------------------------------------------ */

int syslog_frame(const uint8_t *p, size_t len, size_t max, size_t *start, size_t *flen,
                 size_t *used, char *err, size_t errlen) {
  if (len == 0) return 0;
  if (p[0] >= '1' && p[0] <= '9') { /* octet counting */
    size_t i = 0;
    uint64_t n = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
      n = n * 10 + (uint64_t)(p[i] - '0');
      if (n > max) {
        snprintf(err, errlen, "octet-counted frame of more than %zu bytes (syslog.max_message_bytes)", max);
        return -1;
      }
      i++;
    }
    if (i == len) return 0;
    if (p[i] != ' ') {
      snprintf(err, errlen, "octet counting: expected a space after the length %llu",
               (unsigned long long)n);
      return -1;
    }
    if (len - i - 1 < n) return 0;
    *start = i + 1;
    *flen = (size_t)n;
    *used = i + 1 + (size_t)n;
    return 1;
  }
  const uint8_t *nl = memchr(p, '\n', len);
  if (!nl) return 0;
  size_t n = (size_t)(nl - p);
  *start = 0;
  *used = n + 1;
  if (n && p[n - 1] == '\r') n--;
  *flen = n;
  return 1;
}

/* ---- JSON building ------------------------------------------------------------------------- */

static json_value *jv_new(arena *a, json_type t) {
  json_value *v = arena_calloc(a, sizeof *v);
  if (v) v->type = t;
  return v;
}

static json_value *jv_str(arena *a, const char *s, size_t n) {
  json_value *v = jv_new(a, JSON_STRING);
  if (!v) return NULL;
  char *c = arena_strndup(a, s, n);
  if (!c) return NULL;
  v->s = c;
  v->n = (uint32_t)n;
  return v;
}

static json_value *jv_num(arena *a, long long x) {
  char t[32];
  int k = snprintf(t, sizeof t, "%lld", x);
  json_value *v = jv_new(a, JSON_NUMBER);
  if (!v || !(v->s = arena_strndup(a, t, (size_t)k))) return NULL;
  v->n = (uint32_t)k;
  return v;
}

/* Append member v under key to obj (key copied). */
static int jv_put(arena *a, json_value *obj, const char *key, size_t klen, json_value *v) {
  if (!v) return -1;
  char *k = arena_strndup(a, key, klen);
  if (!k) return -1;
  v->key = k;
  v->key_len = (uint32_t)klen;
  v->next = NULL;
  json_value **t = &obj->child;
  while (*t) t = &(*t)->next;
  *t = v;
  obj->n++;
  return 0;
}

static json_value *jv_find(json_value *obj, const char *key, size_t klen) {
  for (json_value *m = obj->child; m; m = m->next)
    if (m->key_len == klen && memcmp(m->key, key, klen) == 0) return m;
  return NULL;
}

/* ---- common ----------------------------------------------------------------------------- */

static const char *const FACILITY[24] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
    "local4", "local5", "local6", "local7"};
static const char *const SEVERITY[8] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
static const int SEVERITY_NUMBER[8] = {24, 23, 22, 17, 13, 10, 9, 5};

/* Parse "<PRI>" at p; returns bytes used (0 when there is no PRI) or -1. */
static int parse_pri(const char *p, size_t n, int *pri) {
  if (n < 3 || p[0] != '<') return 0;
  size_t i = 1;
  int v = 0;
  while (i < n && i <= 4 && p[i] >= '0' && p[i] <= '9') v = v * 10 + (p[i++] - '0');
  if (i == 1 || i > 4 || i >= n || p[i] != '>' || v > 191) return -1;
  *pri = v;
  return (int)i + 1;
}

/* Printable US-ASCII (RFC 5424 PRINTUSASCII). */
static int printable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126) return 0;
  return 1;
}

/* The next SP-delimited field at *i (RFC 5424 header). Returns its length; "-" = nil (0 and
 * *nil = 1). -1 when the field or its SP is missing. */
static long next_field(const char *p, size_t n, size_t *i, size_t maxlen, strv *out) {
  size_t s = *i;
  while (*i < n && p[*i] != ' ') (*i)++;
  size_t len = *i - s;
  if (len == 0 || len > maxlen || *i >= n) return -1;
  (*i)++; /* the SP */
  if (len == 1 && p[s] == '-') {
    *out = (strv){NULL, 0};
    return 0;
  }
  if (!printable(p + s, len)) return -1;
  *out = (strv){p + s, len};
  return (long)len;
}

/* ---- RFC 5424 structured data -------------------------------------------------------------- */

static int parse_sd(const char *p, size_t n, size_t *i, arena *a, json_value **sd_out, event *ev,
                    size_t labels_cap, evd_field_error *err) {
  *sd_out = NULL;
  if (*i < n && p[*i] == '-') {
    (*i)++;
    return 0;
  }
  json_value *sd = jv_new(a, JSON_OBJECT);
  if (!sd) return nomem(err);
  if (*i >= n || p[*i] != '[') return sfail(err, "structured_data", "expected '[' or '-'");
  while (*i < n && p[*i] == '[') {
    (*i)++;
    size_t s = *i;
    while (*i < n && p[*i] != ' ' && p[*i] != ']' && p[*i] != '=' && p[*i] != '"') (*i)++;
    size_t idlen = *i - s;
    if (idlen == 0 || idlen > 32 || !printable(p + s, idlen) || *i >= n)
      return sfail(err, "structured_data", "invalid SD-ID");
    const char *id = p + s;
    int is_labels = (idlen == 6 && memcmp(id, "labels", 6) == 0) ||
                    (idlen > 7 && memcmp(id, "labels@", 7) == 0);
    if (jv_find(sd, id, idlen)) return sfail(err, "structured_data", "SD-ID '%.*s' repeated", (int)idlen, id);
    json_value *el = jv_new(a, JSON_OBJECT);
    if (!el) return nomem(err);
    while (*i < n && p[*i] == ' ') {
      (*i)++;
      s = *i;
      while (*i < n && p[*i] != '=' && p[*i] != ' ' && p[*i] != ']' && p[*i] != '"') (*i)++;
      size_t nlen = *i - s;
      if (nlen == 0 || nlen > 32 || !printable(p + s, nlen) || *i + 1 >= n || p[*i] != '=' ||
          p[*i + 1] != '"')
        return sfail(err, "structured_data", "invalid SD-PARAM in [%.*s]", (int)idlen, id);
      const char *name = p + s;
      *i += 2;
      char *val = arena_alloc(a, n - *i + 1);
      if (!val) return nomem(err);
      size_t vl = 0;
      for (;;) {
        if (*i >= n) return sfail(err, "structured_data", "unterminated PARAM-VALUE in [%.*s]", (int)idlen, id);
        char c = p[*i];
        if (c == '"') break;
        if (c == '\\' && *i + 1 < n && (p[*i + 1] == '"' || p[*i + 1] == '\\' || p[*i + 1] == ']')) {
          val[vl++] = p[*i + 1];
          *i += 2;
          continue;
        }
        val[vl++] = c;
        (*i)++;
      }
      (*i)++; /* closing quote */
      val[vl] = '\0';
      if (!utf8_valid(val, vl)) return sfail(err, "structured_data", "PARAM-VALUE is not UTF-8");
      if (is_labels) {
        size_t j;
        for (j = 0; j < ev->nlabels; j++)
          if (ev->labels[j].key.n == nlen && memcmp(ev->labels[j].key.p, name, nlen) == 0) break;
        if (j < ev->nlabels) {
          ev->labels[j].value = (strv){val, vl};
        } else {
          if (ev->nlabels >= labels_cap) {
            sfail(err, "labels", "more than %zu labels (limits.labels_max)", labels_cap);
            err->kind = EVD_ERR_LIMIT;
            return -1;
          }
          ev->labels[ev->nlabels++] = (evd_label){{name, nlen}, {val, vl}};
        }
        continue;
      }
      json_value *prev = jv_find(el, name, nlen);
      json_value *sv = jv_new(a, JSON_STRING);
      if (!sv) return nomem(err);
      sv->s = val;
      sv->n = (uint32_t)vl;
      if (!prev) {
        if (jv_put(a, el, name, nlen, sv) != 0) return nomem(err);
      } else if (prev->type == JSON_ARRAY) { /* a repeated PARAM-NAME: its values as an array */
        json_value **t = &prev->child;
        while (*t) t = &(*t)->next;
        *t = sv;
        prev->n++;
      } else {
        json_value *arr = jv_new(a, JSON_ARRAY), *first = jv_new(a, JSON_STRING);
        if (!arr || !first) return nomem(err);
        first->s = prev->s;
        first->n = prev->n;
        arr->child = first;
        first->next = sv;
        arr->n = 2;
        arr->key = prev->key;
        arr->key_len = prev->key_len;
        /* replace prev by arr in el */
        for (json_value **t = &el->child; *t; t = &(*t)->next)
          if (*t == prev) {
            arr->next = prev->next;
            *t = arr;
            break;
          }
      }
    }
    if (*i >= n || p[*i] != ']') return sfail(err, "structured_data", "expected ']' after [%.*s", (int)idlen, id);
    (*i)++;
    if (!is_labels && jv_put(a, sd, id, idlen, el) != 0) return nomem(err);
  }
  if (sd->n) *sd_out = sd;
  return 0;
}

/* ---- RFC 3164 timestamp --------------------------------------------------------------------- */

static int parse_3164_time(const char *p, size_t n, int64_t now_ns, int64_t *out) {
  static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (n < 16 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':' || p[15] != ' ') return -1;
  int mon = -1;
  for (int m = 0; m < 12; m++)
    if (memcmp(p, MONTHS + 3 * m, 3) == 0) mon = m;
  if (mon < 0) return -1;
  int d1 = p[4] == ' ' ? 0 : p[4] - '0', d2 = p[5] - '0';
  if (d1 < 0 || d1 > 3 || d2 < 0 || d2 > 9) return -1;
  int v[3];
  for (int k = 0; k < 3; k++) {
    char a = p[7 + 3 * k], b = p[8 + 3 * k];
    if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
    v[k] = (a - '0') * 10 + (b - '0');
  }
  int day = d1 * 10 + d2;
  if (day < 1 || day > 31 || v[0] > 23 || v[1] > 59 || v[2] > 60) return -1;
  time_t now = (time_t)(now_ns / 1000000000LL);
  struct tm lt;
  if (!localtime_r(&now, &lt)) return -1;
  for (int back = 0; back < 2; back++) {
    struct tm tm = {0};
    tm.tm_year = lt.tm_year - back;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = v[0];
    tm.tm_min = v[1];
    tm.tm_sec = v[2];
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || t < 0) return -1;
    if (back == 0 && t > now + 86400) continue; /* "Dec 31" received on Jan 1 */
    *out = (int64_t)t * 1000000000LL;
    return 0;
  }
  return -1;
}

/* ---- messages -------------------------------------------------------------------------------- */

static int set_message(const char *m, size_t mn, event *ev, evd_field_error *err) {
  if (mn >= 3 && (unsigned char)m[0] == 0xef && (unsigned char)m[1] == 0xbb && (unsigned char)m[2] == 0xbf) {
    m += 3;
    mn -= 3;
  }
  while (mn && (m[mn - 1] == '\n' || m[mn - 1] == '\r' || m[mn - 1] == '\0')) mn--;
  if (!utf8_valid(m, mn)) return sfail(err, "message", "MSG is not valid UTF-8");
  if (mn) ev->f[EVF_MESSAGE] = (strv){m, mn};
  return 0;
}

int syslog_to_event(const char *p, size_t n, const syslog_defaults *def, int64_t now_ns, arena *a,
                    event *ev, evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  int pri = 13; /* user.notice, RFC 3164 4.3.3 */
  int used = parse_pri(p, n, &pri);
  if (used < 0) return sfail(err, "", "invalid PRI (expected <0..191>)");
  size_t i = (size_t)used;
  json_value *data = jv_new(a, JSON_OBJECT);
  size_t labels_cap = 64;
  ev->labels = arena_alloc(a, labels_cap * sizeof *ev->labels);
  if (!data || !ev->labels) return nomem(err);
  strv app = {0}, msgid = {0}, host = {0}, procid = {0};
  json_value *sd = NULL;
  int64_t t = now_ns;
  if (used > 0 && n - i >= 2 && p[i] == '1' && p[i + 1] == ' ') { /* RFC 5424 */
    i += 2;
    strv ts;
    if (next_field(p, n, &i, 64, &ts) < 0) return sfail(err, "time", "invalid TIMESTAMP");
    if (ts.n) {
      int rc = time_parse_rfc3339_ex(ts.p, ts.n, &t);
      if (rc != 0 || t <= 0) return sfail(err, "time", "invalid TIMESTAMP '%.*s'", (int)ts.n, ts.p);
    }
    if (next_field(p, n, &i, 255, &host) < 0) return sfail(err, "source", "invalid HOSTNAME");
    if (next_field(p, n, &i, 48, &app) < 0) return sfail(err, "stream", "invalid APP-NAME");
    if (next_field(p, n, &i, 128, &procid) < 0) return sfail(err, "data.procid", "invalid PROCID");
    /* MSGID is followed by SP and STRUCTURED-DATA */
    if (next_field(p, n, &i, 32, &msgid) < 0) return sfail(err, "type", "invalid MSGID");
    if (parse_sd(p, n, &i, a, &sd, ev, labels_cap, err) != 0) return -1;
    if (i < n) {
      if (p[i] != ' ') return sfail(err, "structured_data", "expected SP before MSG");
      i++;
      if (set_message(p + i, n - i, ev, err) != 0) return -1;
    }
  } else { /* RFC 3164 (or no PRI at all) */
    if (used > 0 && parse_3164_time(p + i, n - i, now_ns, &t) == 0) i += 16;
    /* [HOSTNAME SP] [TAG[PID]: SP] MSG */
    for (int k = 0; k < 2 && i < n; k++) {
      size_t s = i, e = i;
      while (e < n && p[e] != ' ') e++;
      size_t wl = e - s;
      const char *w = p + s;
      int is_tag = wl >= 2 && w[wl - 1] == ':';
      if (is_tag) {
        size_t tl = wl - 1;
        const char *br = memchr(w, '[', tl);
        if (br) {
          if (w[tl - 1] != ']') is_tag = 0;
          else {
            procid = (strv){br + 1, (size_t)(w + tl - 1 - br - 1)};
            tl = (size_t)(br - w);
          }
        }
        if (is_tag && tl > 0 && tl <= 48 && printable(w, tl) && printable(procid.p, procid.n)) {
          app = (strv){w, tl};
          i = e < n ? e + 1 : e;
          break;
        }
        procid = (strv){0};
      }
      if (k == 0 && used > 0 && wl > 0 && wl <= 255 && printable(w, wl) && e < n) {
        host = (strv){w, wl};
        i = e + 1;
        continue;
      }
      break;
    }
    if (set_message(p + i, n - i, ev, err) != 0) return -1;
  }
  ev->time_ns = t;
  if (host.n) ev->f[EVF_SOURCE] = host;
  ev->f[EVF_STREAM] = app.n ? app : (strv){def->stream, strlen(def->stream)};
  ev->f[EVF_TYPE] = msgid.n ? msgid : (strv){def->type, strlen(def->type)};
  int fac = pri >> 3, sev = pri & 7;
  ev->severity_number = SEVERITY_NUMBER[sev];
  if (jv_put(a, data, "facility", 8, jv_str(a, FACILITY[fac], strlen(FACILITY[fac]))) != 0 ||
      jv_put(a, data, "facility_code", 13, jv_num(a, fac)) != 0 ||
      jv_put(a, data, "syslog_severity", 15, jv_str(a, SEVERITY[sev], strlen(SEVERITY[sev]))) != 0)
    return nomem(err);
  if (procid.n && jv_put(a, data, "procid", 6, jv_str(a, procid.p, procid.n)) != 0) return nomem(err);
  if (sd && jv_put(a, data, "structured_data", 15, sd) != 0) return nomem(err);
  ev->data = data;
  if (ev->nlabels == 0) ev->labels = NULL;
  return 0;
}
