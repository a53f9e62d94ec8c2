/* Fuzz target: an output's spec (outputs_check_spec: the common members and every
 * destination's check, as POST /v1/outputs and the config file use them). Any input must be
 * accepted or refused with a message — never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outputs/outputs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[512];
  err[0] = '\0';
  int rc = outputs_check_spec((const char *)data, size, err, sizeof err);
  if (rc != 0 && err[0] == '\0') abort(); /* a refusal always says why */
  return 0;
}
