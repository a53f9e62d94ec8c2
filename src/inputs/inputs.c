/* inputs: see inputs.h. */
#include "inputs/inputs.h"

#include <stdio.h>
#include <stdlib.h>

#include "inputs/es/es.h"
#include "inputs/forward/forward.h"
#include "inputs/grpc/grpc.h"
#include "inputs/lines/lines.h"
#include "inputs/syslog/syslog.h"
#include "inputs/otlp/otlp.h"

static const input_plugin *const INPUTS[] = {&grpc_input_plugin,
                                              &forward_input_plugin, &lines_input_plugin,
                                              &syslog_input_plugin,
                                              &es_input_plugin, &otlp_input_plugin};
#define NINPUTS (sizeof INPUTS / sizeof INPUTS[0])

struct input_set {
  void *state[NINPUTS];
};

int inputs_start(struct server *s, input_set **out, char *err, size_t errlen) {
  *out = NULL;
  input_set *in = calloc(1, sizeof *in);
  if (!in) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < NINPUTS; i++) {
    if (INPUTS[i]->start(s, &in->state[i], err, errlen) != 0) {
      in->state[i] = NULL;
      inputs_free(in);
      return -1;
    }
  }
  *out = in;
  return 0;
}

void inputs_announce(input_set *in) {
  if (!in) return;
  for (size_t i = 0; i < NINPUTS; i++)
    if (in->state[i] && INPUTS[i]->announce) INPUTS[i]->announce(in->state[i]);
}

int inputs_http_route(input_set *in, struct server *s, struct evhttp_request *req,
                      const char *path, const char *query) {
  for (size_t i = 0; i < NINPUTS; i++)
    if (INPUTS[i]->http_route &&
        INPUTS[i]->http_route(in ? in->state[i] : NULL, s, req, path, query))
      return 1;
  return 0;
}

void inputs_stop(input_set *in) {
  if (!in) return;
  for (size_t i = 0; i < NINPUTS; i++)
    if (in->state[i]) INPUTS[i]->stop(in->state[i]);
}

void inputs_free(input_set *in) {
  if (!in) return;
  for (size_t i = NINPUTS; i-- > 0;)
    if (in->state[i]) INPUTS[i]->free(in->state[i]);
  free(in);
}
