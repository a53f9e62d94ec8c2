/* Fuzz target: the YAML configuration parser (config_load_yaml). Any input must either load
 * or fail with a "FILE:LINE: reason" message — never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_config c;
  config_init(&c);
  char err[1024];
  err[0] = '\0';
  int rc = config_load_yaml(&c, "fuzz.yml", (const char *)data, size, err, sizeof err);
  if (rc != 0 && strncmp(err, "fuzz.yml:", 9) != 0) abort(); /* errors always carry a position */
  config_free(&c);
  return 0;
}
