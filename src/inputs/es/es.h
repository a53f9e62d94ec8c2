/* es: the Elasticsearch-compatible input on the HTTP port (docs/inputs.md,
 * "Elasticsearch-compatible ingest"): POST /{index}/_doc, PUT|POST /{index}/_doc/{id},
 * PUT|POST /{index}/_create/{id}, POST /_bulk and /{index}/_bulk, GET|HEAD / (cluster root).
 *
 * Settings: es.enabled, es.index_rule, es.default_type. The decoding and mapping is in
 * es_map.h (pure); this module is the HTTP glue: it reads the body (gzip too), feeds every
 * item to the ingest path in per-item mode (valid items are stored, invalid ones get their
 * own status) and answers with Elasticsearch-shaped JSON once the store has made the batch
 * durable. */
#ifndef EVD_INPUTS_ES_H
#define EVD_INPUTS_ES_H

#include "inputs/inputs.h"

extern const input_plugin es_input_plugin;

#endif
