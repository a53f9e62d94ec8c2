/* Unit-test runner: `evd-unit` runs every test in test-list.h in turn (each in a child
 * process, so one crash does not hide the others); `evd-unit NAME` runs one test in
 * this process (this is what ctest does). Prints "N passed, N failed" at the end. */
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define TEST_ENTRY(name) int run_test_##name(void);
#include "test-list.h"
#undef TEST_ENTRY

typedef struct {
  const char *name;
  int (*fn)(void);
} test_entry;

static const test_entry TESTS[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
#include "test-list.h"
#undef TEST_ENTRY
};

char *test_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/evd-test-XXXXXX", base && *base ? base : "/tmp");
  char *p = mkdtemp(tmpl);
  if (!p) {
    perror("mkdtemp");
    abort();
  }
  return strdup(p);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

void test_rmdir_r(const char *path) {
  if (path) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv) {
  size_t n = sizeof TESTS / sizeof TESTS[0];
  if (argc > 1) {
    for (size_t i = 0; i < n; i++)
      if (strcmp(TESTS[i].name, argv[1]) == 0) return TESTS[i].fn();
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
  }
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(TESTS[i].fn());
    int st = 0;
    waitpid(pid, &st, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("%s %s\n", ok ? "ok    " : "FAILED", TESTS[i].name);
    ok ? passed++ : failed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
