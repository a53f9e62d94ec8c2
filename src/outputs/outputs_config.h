/* outputs_config: the outputs part of the configuration file (used by server/config.c).
 *
 * Outputs are declared as a YAML list under `outputs:` (or `outputs.list`), each entry a
 * mapping with the same members as the body of POST /v1/outputs. Each entry is converted to
 * JSON (plain scalars that read as JSON numbers, true/false or null keep that type; every
 * other scalar is a string) and checked with outputs_check_spec, so the file and the API
 * accept exactly the same outputs. The JSON texts land in evd_config.outputs_declared. */
#ifndef EVD_OUTPUTS_OUTPUTS_CONFIG_H
#define EVD_OUTPUTS_OUTPUTS_CONFIG_H

#include <stdio.h>
#include <yaml.h>

#include "outputs/outputs.h" /* outputs_tenant_types_check, OUTPUTS_TENANT_TYPES_DEFAULT */
#include "server/config.h"

/* Append the outputs of a YAML list node. Returns 0, or -1 with err "FILE:LINE: reason". */
int outputs_config_yaml(evd_config *c, const char *file, yaml_document_t *doc,
                        yaml_node_t *list, char *err, size_t errlen);
/* `--set outputs.list=JSON`: replace the list with a JSON array of outputs (or one object);
 * "" empties it. Returns 0 or -1 with err. */
int outputs_config_set(evd_config *c, const char *name, const char *value, char *err,
                       size_t errlen);
/* Print the list as a YAML flow sequence of JSON objects (for --print-config). Without
 * show_secrets, members that hold secrets (names with secret, password, token, key.pem,
 * sasl.jaas; every header value) and URL passwords are printed as CONFIG_REDACTED, which
 * loading refuses. */
void outputs_config_print(const evd_config *c, FILE *out, int show_secrets);
/* Free the list. */
void outputs_config_free(evd_config *c);

#endif
