/* inputs: the table of network inputs besides the HTTP API (gRPC today; forward and syslog
 * follow the same pattern). Every input feeds events through server/ingest.h on the event
 * loop thread, so an input needs no locking.
 *
 * An input is one `input_plugin`: start binds and registers its listeners on s->base (or
 * does nothing when its configuration turns it off) and returns its state; stop is the
 * first step of a graceful shutdown (stop accepting, tell clients — e.g. HTTP/2 GOAWAY —
 * and finish what is in flight); free releases everything once the loop has stopped and the
 * store is closed (no ingest completion can arrive any more). */
#ifndef EVD_INPUTS_INPUTS_H
#define EVD_INPUTS_INPUTS_H

#include <stddef.h>

struct server;
struct evhttp_request;

typedef struct input_plugin {
  const char *name;
  /* Start the input. Returns 0 with *state (NULL when the input is off), or -1 with err. */
  int (*start)(struct server *s, void **state, char *err, size_t errlen);
  /* Print the input's "eventd: NAME listening on ..." line (when it is on). */
  void (*announce)(void *state);
  void (*stop)(void *state);
  void (*free)(void *state);
  /* Inputs that live on the HTTP port (Elasticsearch-compatible, OTLP/HTTP): called on the
   * loop thread for a request whose path the core API does not own. Returns 1 when the
   * input took the request (it answers it, now or later), 0 when the path is not its own.
   * state may be NULL (the input has nothing to start). NULL for other inputs. */
  int (*http_route)(void *state, struct server *s, struct evhttp_request *req, const char *path,
                    const char *query);
} input_plugin;

/* The started inputs of a server. */
typedef struct input_set input_set;

/* Start every input of the table, in order. Returns 0 with *out, or -1 with err (the
 * inputs started so far are freed). */
int inputs_start(struct server *s, input_set **out, char *err, size_t errlen);
/* Print every started input's listening line (after the HTTP one). */
void inputs_announce(input_set *in);
/* Offer an HTTP request to the inputs that live on the HTTP port, in table order. Returns 1
 * when one took it, 0 otherwise (the caller answers 404). */
int inputs_http_route(input_set *in, struct server *s, struct evhttp_request *req,
                      const char *path, const char *query);
/* Graceful stop of every input (shutdown step 1). NULL is fine. */
void inputs_stop(input_set *in);
/* Free every input. NULL is fine. */
void inputs_free(input_set *in);

#endif
