/* cmap: the client-id map — for every retained record that carries a client id, the keyed
 * 64-bit hash of the id and the record's seq. 16 bytes per slot, open addressing with linear
 * probing, at most 70% full, deletion by backward shift (no tombstones). The ids themselves
 * are not kept: a hash hit is confirmed by reading the record (writer.c, lookup.c), so equal
 * hashes of different ids are harmless — they are simply two entries under one hash. */
#include <stdlib.h>

#include "store/store_internal.h"

void cmap_free(cmap *m) {
  free(m->slots);
  memset(m, 0, sizeof *m);
}

static int cmap_resize(cmap *m, size_t nslots) {
  cmap_slot *slots = calloc(nslots, sizeof *slots);
  if (!slots) return -1;
  size_t mask = nslots - 1;
  for (size_t i = 0; i < m->nslots; i++) {
    if (!m->slots[i].seq) continue;
    size_t j = (size_t)m->slots[i].h & mask;
    while (slots[j].seq) j = (j + 1) & mask;
    slots[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = slots;
  m->nslots = nslots;
  return 0;
}

/* Add (h, seq); seq > 0. Returns 0 or -1 (OOM; the map is unchanged). */
int cmap_insert(cmap *m, uint64_t h, uint64_t seq) {
  if ((m->n + 1) * 10 > m->nslots * 7 && cmap_resize(m, m->nslots ? m->nslots * 2 : 1024) != 0)
    return -1;
  size_t mask = m->nslots - 1, j = (size_t)h & mask;
  while (m->slots[j].seq) j = (j + 1) & mask;
  m->slots[j].h = h;
  m->slots[j].seq = seq;
  m->n++;
  return 0;
}

/* Remove the entry (h, seq) if present. */
void cmap_delete(cmap *m, uint64_t h, uint64_t seq) {
  if (!m->nslots) return;
  size_t mask = m->nslots - 1, j = (size_t)h & mask;
  while (m->slots[j].seq && !(m->slots[j].h == h && m->slots[j].seq == seq)) j = (j + 1) & mask;
  if (!m->slots[j].seq) return;
  /* Backward-shift: move later members of the probe run into the hole when their home
   * position is not between the hole and them. */
  size_t hole = j;
  for (size_t k = (j + 1) & mask; m->slots[k].seq; k = (k + 1) & mask) {
    size_t home = (size_t)m->slots[k].h & mask;
    int movable = hole <= k ? (home <= hole || home > k) : (home <= hole && home > k);
    if (movable) {
      m->slots[hole] = m->slots[k];
      hole = k;
    }
  }
  m->slots[hole].seq = 0;
  m->slots[hole].h = 0;
  m->n--;
  /* Shrink when mostly empty, so that retention gives the memory back. */
  if (m->nslots > 1024 && m->n * 10 < m->nslots) cmap_resize(m, m->nslots / 2);
}

/* Seqs stored under h (up to max of them) into out; returns the count. */
size_t cmap_find(const cmap *m, uint64_t h, uint64_t *out, size_t max) {
  if (!m->nslots) return 0;
  size_t mask = m->nslots - 1, k = 0;
  for (size_t j = (size_t)h & mask; m->slots[j].seq; j = (j + 1) & mask)
    if (m->slots[j].h == h && k < max) out[k++] = m->slots[j].seq;
  return k;
}
