/* yamltree: read a YAML or JSON document into the arena JSON tree of core/json.h, with the
 * line of every node, so that spec files and the registry file are walked by one code path
 * and errors can name file:line.
 *
 * In trees built here, json_value.offset holds the 1-based LINE of the node (not a byte
 * offset): for YAML the line libyaml reports for the node's start, for JSON the line of the
 * value's first character.
 *
 * YAML is read with libyaml's event parser into the tree (no recursion, so depth is bounded
 * by max_depth only). Scalars follow the YAML 1.2 core schema: quoted scalars and !!str are
 * strings; plain null/Null/NULL/~/empty is null; true/True/TRUE/false/False/FALSE are
 * booleans; decimal, 0x and 0o integers and decimal floats are numbers (written back in
 * JSON form: "+5" -> 5, "0x1F" -> 31, ".5" -> 0.5); anything else, including .inf and .nan,
 * is a string. (PyYAML's YAML 1.1 yes/no/on/off booleans are strings here.) Duplicate
 * mapping keys, non-scalar keys, recursive aliases and more than one document are errors;
 * an alias is expanded by copying (bounded by max_nodes, against "billion laughs"). */
#ifndef EVD_YAMLTREE_H
#define EVD_YAMLTREE_H

#include <stddef.h>

#include "core/arena.h"
#include "core/json.h"

typedef struct yamltree_error {
  int line;           /* 1-based line of the problem (0 when unknown) */
  char message[200];  /* "duplicate key 'type'", "found character that cannot start any token" */
} yamltree_error;

#define YAMLTREE_DEFAULT_MAX_DEPTH 128
#define YAMLTREE_DEFAULT_MAX_NODES 1000000

/* Parse text[0..len) as YAML into a tree allocated from a. An empty document gives a JSON
 * null. Returns the root, or NULL with *err filled. */
json_value *yamltree_parse_yaml(arena *a, const char *text, size_t len, int max_depth, size_t max_nodes,
                                yamltree_error *err);

/* Parse text[0..len) as strict JSON (core/json.h) and rewrite every node's offset into its
 * line. Returns the root, or NULL with *err filled (line of the syntax error). */
json_value *yamltree_parse_json(arena *a, const char *text, size_t len, int max_depth, yamltree_error *err);

/* Read a whole file into a malloc'd NUL-terminated buffer. Returns it (caller frees) and
 * its length in *len, or NULL with errno set. */
char *yamltree_read_file(const char *path, size_t *len);

#endif
