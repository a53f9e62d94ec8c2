/* hash: the store's keyed 64-bit string hash (dictionary values, client ids) and the label
 * encoding of the LABELS dictionary.
 *
 * A multiply-fold hash: 16 bytes per round, each round one 64x64->128 multiplication whose
 * halves are folded together. It is not cryptographic; the per-store random seed only keeps
 * chosen inputs from piling into one probe chain. */
#include "store/store_internal.h"

#define K0 0xa0761d6478bd642fULL
#define K1 0xe7037ed1a0b428dbULL
#define K2 0x8ebc6af09c88c6e3ULL
#define K3 0x589965cc75374cc3ULL

static inline uint64_t fold_mul(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Takes seed and bytes p[0..n); returns the hash. */
uint64_t store_hash(uint64_t seed, const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = seed ^ fold_mul(seed ^ K0, (uint64_t)n ^ K1);
  while (n >= 16) {
    h = fold_mul(ld_u64(s) ^ K1 ^ h, ld_u64(s + 8) ^ K2);
    s += 16;
    n -= 16;
  }
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = ld_u64(s);
    memcpy(&b, s + 8, n - 8);
  } else {
    memcpy(&a, s, n);
  }
  h = fold_mul(a ^ K1 ^ h, b ^ K3);
  return fold_mul(h ^ K0, K2 ^ (uint64_t)n);
}

/* Append the LABELS dictionary value of label k=v (u16 key length, key, value) to out.
 * Returns 0, or -1 when out of memory or the key is longer than 65535 bytes. */
int label_value_encode(buf *out, const char *k, size_t kn, const char *v, size_t vn) {
  if (kn > UINT16_MAX) return -1;
  unsigned char l[2];
  st_u16(l, (uint16_t)kn);
  if (buf_append(out, l, 2) != 0 || buf_append(out, k, kn) != 0 || buf_append(out, v, vn) != 0)
    return -1;
  return 0;
}
