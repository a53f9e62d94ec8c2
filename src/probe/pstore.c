/* pstore: the previous boot's panic, from the persistent store (/sys/fs/pstore).
 *
 * After a panic, the pstore backends (efi, ramoops, erst) keep the tail of the kernel log
 * in files named "dmesg-<backend>-<id>" that appear under /sys/fs/pstore at the next boot.
 * Each such file not reported before becomes one kernel.panic_previous_boot event (FATAL)
 * with data {file, text} (text: the last PSTORE_TEXT_MAX bytes of the file); the names
 * already reported are remembered in <state_dir>/pstore.state, one per line, so a restart
 * of the probe does not report them again. */
#include "probe/pstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PSTORE_TEXT_MAX 16384

/* Whether name is listed in the state file. */
static int already_reported(const char *state, const char *name) {
  FILE *f = state[0] ? fopen(state, "r") : NULL;
  if (!f) return 0;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    found = strcmp(line, name) == 0;
  }
  fclose(f);
  return found;
}

int pstore_scan(const char *dir, const char *state_dir, void (*emit)(void *ud, probe_event *ev), void *ud) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  char state[1200] = "";
  if (state_dir && *state_dir) snprintf(state, sizeof state, "%s/pstore.state", state_dir);
  int count = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "dmesg-", 6) != 0) continue;
    if (already_reported(state, de->d_name)) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "eventd-probe: pstore %s: %s\n", path, strerror(errno));
      continue;
    }
    struct stat st;
    char *text = malloc(PSTORE_TEXT_MAX);
    ssize_t n = -1;
    if (text && fstat(fd, &st) == 0) {
      off_t from = st.st_size > PSTORE_TEXT_MAX ? st.st_size - PSTORE_TEXT_MAX : 0;
      n = pread(fd, text, PSTORE_TEXT_MAX, from);
    }
    close(fd);
    if (n < 0) {
      free(text);
      continue;
    }
    probe_event ev;
    probe_event_init(&ev, "kernel.panic_previous_boot", PROBE_SEV_FATAL, "pstore.dmesg", "pstore");
    probe_event_set_cstr(&ev, "file", de->d_name);
    probe_event_set_str(&ev, "text", text, (size_t)n);
    char msg[600];
    snprintf(msg, sizeof msg, "kernel log of the previous boot kept by pstore: %s", de->d_name);
    probe_event_set_message(&ev, msg, strlen(msg));
    snprintf(ev.dedup_key, sizeof ev.dedup_key, "%.150s", de->d_name);
    emit(ud, &ev);
    probe_event_free(&ev);
    free(text);
    count++;
    if (state[0]) {
      FILE *f = fopen(state, "a");
      if (f) {
        fprintf(f, "%s\n", de->d_name);
        fclose(f);
      }
    }
  }
  closedir(d);
  return count;
}
