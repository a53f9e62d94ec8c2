/* eventd: the daemon's entry point — command line and configuration (config.c), then the
 * event-type registry (http_registry.c), then the server (server.c). Exit status: 0 clean
 * stop or informational option, 1 runtime failure (store cannot be opened, address cannot be
 * bound), 2 usage or configuration error (a bad registry included). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/config.h"
#include "server/server.h"

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  evd_config cfg;
  config_init(&cfg);
  config_action action;
  char err[1024];
  if (config_from_args(&cfg, argc, argv, &action, err, sizeof err) != 0) {
    fprintf(stderr, "eventd: %s\n", err);
    config_free(&cfg);
    return 2;
  }
  switch (action) {
    case CONFIG_HELP:
      config_usage(stdout);
      config_free(&cfg);
      return 0;
    case CONFIG_VERSION:
      printf("eventd %s\n", EVD_VERSION);
      config_free(&cfg);
      return 0;
    case CONFIG_CHECK: {
      registry *r;
      if (server_registry_load(&cfg, &r, err, sizeof err) != 0) {
        fprintf(stderr, "eventd: %s\n", err);
        config_free(&cfg);
        return 2;
      }
      printf("configuration ok\n");
      if (r) {
        printf("registry ok: %zu event types from %s\n", registry_type_count(r), registry_path(r));
        registry_unref(r);
      }
      config_free(&cfg);
      return 0;
    }
    case CONFIG_PRINT:
    case CONFIG_PRINT_SECRETS:
      config_print(&cfg, stdout, action == CONFIG_PRINT_SECRETS);
      config_free(&cfg);
      return 0;
    case CONFIG_RUN:
      break;
  }
  /* The registry first: a bad one stops startup before the store is opened. */
  registry *reg;
  if (server_registry_load(&cfg, &reg, err, sizeof err) != 0) {
    fprintf(stderr, "eventd: %s\n", err);
    config_free(&cfg);
    return 2;
  }
  server *s;
  if (server_new(&cfg, &s, err, sizeof err) != 0) {
    fprintf(stderr, "eventd: %s\n", err);
    if (reg) registry_unref(reg);
    return 1;
  }
  server_set_registry(s, reg);
  int rc = server_run(s);
  server_free(s);
  if (rc == 0) fprintf(stderr, "eventd: stopped\n");
  return rc;
}
