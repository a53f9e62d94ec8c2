/* arena: see arena.h. Blocks form a singly linked list, newest first. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
  arena_block *next;
  size_t size; /* usable bytes in data[] */
  size_t used;
  _Alignas(16) unsigned char data[];
};

void arena_init(arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 64 * 1024;
  a->total = 0;
}

void arena_free(arena *a) {
  arena_block *b = a->head;
  while (b) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->total = 0;
}

void arena_reset(arena *a) {
  if (!a->head) return;
  /* Keep the oldest block (the one of default size), free the rest. */
  arena_block *b = a->head, *keep = NULL;
  while (b) {
    arena_block *next = b->next;
    if (next == NULL && b->size == a->block_size) keep = b;
    else free(b);
    b = next;
  }
  a->head = keep;
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
  a->total = 0;
}

void *arena_alloc(arena *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) return NULL; /* overflow */
  arena_block *b = a->head;
  if (!b || b->size - b->used < need) {
    size_t size = need > a->block_size ? need : a->block_size;
    if (size > SIZE_MAX - sizeof(arena_block)) return NULL;
    arena_block *nb = malloc(sizeof(arena_block) + size);
    if (!nb) return NULL;
    nb->size = size;
    nb->used = 0;
    if (b && size > a->block_size) {
      /* A large one-off block goes behind the current one so the current keeps filling. */
      nb->next = b->next;
      b->next = nb;
      nb->used = need;
      a->total += need;
      return nb->data;
    }
    nb->next = b;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->total += need;
  return p;
}

void *arena_calloc(arena *a, size_t n) {
  void *p = arena_alloc(a, n);
  if (p) memset(p, 0, n);
  return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}
