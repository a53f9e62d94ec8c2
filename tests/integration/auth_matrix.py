#!/usr/bin/env python3
"""The role x endpoint matrix of access control, from auth_matrix.tsv (the one source).

    auth_matrix.py markdown          print the table docs/security.md shows
    auth_matrix.py check DOC         exit 1 unless DOC holds exactly that table between
                                     <!-- auth-matrix:begin --> and <!-- auth-matrix:end -->
    auth_matrix.py update DOC        rewrite that part of DOC
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- auth-matrix:begin -->", "<!-- auth-matrix:end -->"


def load():
    rows = []
    with open(os.path.join(HERE, "auth_matrix.tsv")) as f:
        header = None
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                continue
            if len(cols) != len(header):
                sys.exit("auth_matrix.tsv: bad row: %r" % line)
            rows.append(dict(zip(header, cols)))
    return rows


def markdown(rows):
    roles, endpoints, cell = [], [], {}
    for r in rows:
        if r["role"] not in roles:
            roles.append(r["role"])
        ep = (r["method"], r["path"])
        if ep not in endpoints:
            endpoints.append(ep)
        cell[(ep, r["role"])] = r["status"]
    out = ["| endpoint | " + " | ".join(roles) + " |", "|---|" + "---|" * len(roles)]
    for ep in endpoints:
        out.append("| `%s %s` | " % ep + " | ".join(cell.get((ep, ro), "") for ro in roles) + " |")
    return "\n".join(out) + "\n"


def main():
    table = markdown(load())
    if len(sys.argv) == 2 and sys.argv[1] == "markdown":
        sys.stdout.write(table)
        return 0
    if len(sys.argv) == 3 and sys.argv[1] in ("check", "update"):
        text = open(sys.argv[2]).read()
        b, e = text.find(BEGIN), text.find(END)
        if b < 0 or e < b:
            print("%s: no %s ... %s block" % (sys.argv[2], BEGIN, END))
            return 1
        current = text[b + len(BEGIN):e].strip("\n") + "\n"
        if sys.argv[1] == "update":
            with open(sys.argv[2], "w") as f:
                f.write(text[:b + len(BEGIN)] + "\n" + table + text[e:])
            return 0
        if current != table:
            print("%s: the matrix differs from auth_matrix.tsv; run "
                  "tests/integration/auth_matrix.py update %s" % (sys.argv[2], sys.argv[2]))
            return 1
        return 0
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main())
