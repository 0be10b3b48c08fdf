#!/usr/bin/env python3
"""Summarise memcheck logs: fail on any error whose stack passes through
mod_hsts; list the others (httpd's, APR's, OpenSSL's) for reference."""

import glob
import re
import sys


def main(directory):
    ours, others, files = [], 0, 0
    for path in sorted(glob.glob(directory + "/vg.*")):
        files += 1
        with open(path, errors="replace") as f:
            text = f.read()
        # an error block: a line naming the problem, then "at"/"by" frames
        for block in re.split(r"\n==\d+== \n", text):
            if not re.search(r"==\d+== (Invalid|Conditional|Use of "
                             r"uninitialised|Syscall param|Mismatched|"
                             r"Source and destination)", block):
                continue
            if re.search(r"mod_hsts\.so|hsts_\w+ \(", block):
                ours.append(block)
            else:
                others += 1
    print("valgrind: %d logs, %d errors in mod_hsts frames, %d elsewhere"
          % (files, len(ours), others))
    for block in ours:
        print(block)
    if files == 0:
        print("valgrind: no logs written: did httpd run under memcheck?")
        return 1
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
