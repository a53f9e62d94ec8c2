/* tail: follow a growing log file by name, safely across rotation and truncation.
 *
 * The file is followed by (device, inode): each poll reads what was appended to the open
 * file; then, when the path names another file (rename + create: logrotate's default) the
 * old one has already been read to its end, so it is closed and the new one is read from its
 * start; when the file shrank below the read position (copytruncate) reading restarts at 0.
 * A missing file is retried at every poll, and read from its start when it appears. Lines are delivered without their newline; a
 * last line without newline waits for its end (or for rotation). A line longer than
 * TAIL_LINE_MAX is delivered in pieces of TAIL_LINE_MAX bytes, counted in long_lines.
 *
 * The position (device, inode, offset) is kept in <state_dir>/tail-<hash of path>.state by
 * tail_commit, so a restart continues where the last run stopped when the file is the same;
 * otherwise from_start decides between the start (1) and the end (0) of the file. */
#ifndef EVD_PROBE_TAIL_H
#define EVD_PROBE_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TAIL_LINE_MAX 65536

typedef struct tailer tailer;

/* A tailer for path (the file need not exist yet). state_dir may be NULL. NULL when out of
 * memory. */
tailer *tail_open(const char *path, int from_start, const char *state_dir);
void tail_close(tailer *t);

/* Read what is new; call line(ud, text, len) for each complete line. Returns the number of
 * lines delivered. Problems (unreadable file) are logged once per change of state. */
int tail_poll(tailer *t, void (*line)(void *ud, const char *text, size_t len), void *ud);

/* Inside tail_poll's line callback: the file (device, inode) and offset where the line
 * being delivered starts — with the line's text, a stable identity for it (eventd-probe
 * derives the command.failed event id from them, so a line read again after a crash is
 * stored once). */
void tail_line_pos(const tailer *t, uint64_t *dev, uint64_t *ino, uint64_t *off);

/* Persist the position. 0 or -1 with err. */
int tail_commit(tailer *t, char *err, size_t errcap);

/* Counters for logs and tests. */
uint64_t tail_rotations(const tailer *t);
uint64_t tail_truncations(const tailer *t);
uint64_t tail_long_lines(const tailer *t);

#endif
