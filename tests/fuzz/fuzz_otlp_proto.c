/* Fuzz target for the OTLP/HTTP logs proto decoder (inputs/otlp/otlp_decode.h): the input is
 * an ExportLogsServiceRequest body. Decoding must end in OK, a bad-request error with a
 * message, or nothing; every record must be refused with a reason or become an event whose
 * canonical JSON parses again within limits.max_depth (fuzz_otlp_common.h). */
#include <stdint.h>

#include "fuzz_otlp_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  lim.max_depth = 16;
  otlp_opts o = {.default_type = "otlp.log", .stream_attribute = "service.name", .max_depth = 16};
  arena a;
  arena_init(&a, 0);
  char err[256] = "";
  int rc = otlp_decode_proto(&a, &o, (const char *)data, size, fuzz_otlp_sink, &lim, err, sizeof err);
  if (rc != OTLP_OK && !err[0]) abort();
  arena_free(&a);
  return 0;
}
