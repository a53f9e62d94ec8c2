/* kmsg: the kernel log source of eventd-probe — /dev/kmsg live, or a recorded file (replay).
 *
 * Live: /dev/kmsg opened non-blocking; one read() returns one record (kmsg_parse.h). When the
 * kernel overwrote records the reader had not read yet, read() fails once with EPIPE and the
 * position moves to the oldest record still held: the source reports the gap (the sequence
 * numbers skipped) through on_gap and continues.
 *
 * Resume: the sequence number of the last record handled is kept in <state_dir>/kmsg.state
 * ("boot_id <uuid>\nseq <n>\n", replaced atomically by kmsg_commit after the sink has taken
 * the events). On start in the same boot (same /proc/sys/kernel/random/boot_id) records at or
 * below it are skipped, and records lost meanwhile (the ring wrapped while the probe was
 * down) are reported as a gap; in a new boot everything the buffer holds is new. Without a
 * state file, from_start decides whether the records already in the buffer are read (1) or
 * only new ones (0).
 *
 * Old kernels (before 4.9) may split one printk line into a record flagged 'c' followed by
 * records flagged '+'; those fragments are joined into one record (the first fragment's
 * header) before delivery.
 *
 * Replay: the file holds records in the same format, one per line plus " KEY=VALUE"
 * continuation lines; blank lines and lines starting with '#' are skipped; a malformed line
 * is reported on stderr with its line number and skipped. A jump in sequence numbers is
 * reported as a gap, as live. Reading ends at the end of the file (kmsg_read returns 1). */
#ifndef EVD_PROBE_KMSG_H
#define EVD_PROBE_KMSG_H

#include <stddef.h>
#include <stdint.h>

#include "probe/kmsg_parse.h"

typedef struct kmsg_callbacks {
  /* one record; time_ns is its wall-clock time (live) or the time of reading (replay) */
  void (*on_record)(void *ud, const kmsg_record *rec, int64_t time_ns);
  /* records after_seq+1 .. next_seq-1 were lost; reason "overrun", "restart" or "sequence gap" */
  void (*on_gap)(void *ud, uint64_t after_seq, uint64_t next_seq, const char *reason);
  void *ud;
} kmsg_callbacks;

typedef struct kmsg_source kmsg_source;

/* Open the live device path (replay 0) or a replay file (replay 1). state_dir may be NULL
 * (no resume). Returns the source, or NULL with a message in err (naming the path and the
 * errno: "open /dev/kmsg: Operation not permitted"). */
kmsg_source *kmsg_open(const char *path, int replay, const char *state_dir, const char *boot_id, int from_start,
                       char *err, size_t errcap);
void kmsg_close(kmsg_source *k);

/* Descriptor to poll for input (live), or -1 (replay: always readable). */
int kmsg_fd(const kmsg_source *k);

/* Read what is available now (live: until EAGAIN; replay: up to max_records records) and
 * call the callbacks. Returns 0 (more may come), 1 at the end of a replay file, or -1 with
 * err on a read error. */
int kmsg_read(kmsg_source *k, const kmsg_callbacks *cb, int max_records, char *err, size_t errcap);

/* Persist the position (last record handled) to the state file, if it moved. 0 or -1. */
int kmsg_commit(kmsg_source *k, char *err, size_t errcap);

/* The last sequence number handled (0 before any). */
uint64_t kmsg_last_seq(const kmsg_source *k);

#endif
