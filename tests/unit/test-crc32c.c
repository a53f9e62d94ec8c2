/* Tests of core/crc32c. */
#include "core/crc32c.h"
#include "test.h"

TEST_IMPL(crc32c_matches_standard_check_value) {
  ASSERT_EQ_U64(crc32c_extend(0, "123456789", 9), 0xE3069283u);
  ASSERT_EQ_U64(crc32c_extend(0, "", 0), 0);
  return 0;
}

TEST_IMPL(crc32c_extend_equals_one_shot) {
  unsigned char data[1000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + 3);
  uint32_t whole = crc32c_extend(0, data, sizeof data);
  /* Every split point, including unaligned ones, gives the same CRC. */
  for (size_t cut = 0; cut <= 64; cut++) {
    uint32_t part = crc32c_extend(crc32c_extend(0, data, cut), data + cut, sizeof data - cut);
    ASSERT_EQ_U64(part, whole);
  }
  data[500] ^= 1;
  ASSERT(crc32c_extend(0, data, sizeof data) != whole);
  return 0;
}
