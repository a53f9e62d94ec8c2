/* arena: a bump allocator for data that lives exactly as long as one request or one batch.
 *
 * Everything allocated from an arena is freed at once by arena_reset (keeps the first block
 * for reuse) or arena_free. Individual allocations are never freed. Allocation failure is
 * reported by a NULL return (callers map it to "out of memory" / 503), never by abort. */
#ifndef EVD_ARENA_H
#define EVD_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
  arena_block *head;   /* current block (most recent); owns the chain */
  size_t block_size;   /* default size of new blocks */
  size_t total;        /* bytes handed out since the last reset (for limits/metrics) */
} arena;

/* Initialize an empty arena whose blocks are at least block_size bytes (0 = 64 KiB). */
void arena_init(arena *a, size_t block_size);
/* Release every block. The arena may be reused after arena_init. */
void arena_free(arena *a);
/* Forget every allocation, keeping one block for reuse. */
void arena_reset(arena *a);
/* n bytes aligned to 16, or NULL when out of memory. Contents are undefined. */
void *arena_alloc(arena *a, size_t n);
/* Like arena_alloc but zeroed. */
void *arena_calloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n) in the arena, or NULL. */
char *arena_strndup(arena *a, const char *s, size_t n);

#endif
