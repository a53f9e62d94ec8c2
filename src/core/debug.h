/* debug: invariant checks. EVD_ASSERT(cond) aborts with file:line in debug builds
 * (EVD_DEBUG, set for Debug and sanitizer builds) and compiles to nothing otherwise; use it
 * for invariants of our own data, never for checking input. */
#ifndef EVD_DEBUG_H
#define EVD_DEBUG_H

#include <stdio.h>
#include <stdlib.h>

#ifdef EVD_DEBUG
#define EVD_ASSERT(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);        \
      abort();                                                                            \
    }                                                                                     \
  } while (0)
#else
#define EVD_ASSERT(cond) ((void)0)
#endif

#endif
