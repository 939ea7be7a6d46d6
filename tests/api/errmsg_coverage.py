#!/usr/bin/env python3
"""Every public function of pkc.h that returns an error code has a case in
tests/unit/test_errmsg.c, the walk over the error contract (a failure's
message belongs to that failure), unless it is listed below as unable to
fail. Run by CTest as api.errmsg_coverage.

A case is a call made inside EXPECT_FAIL(...) or EXPECT_OOM_WALK(...), or
inside a static function of test_errmsg.c that such a case calls (directly
or through other such functions): a call that is only set-up (CHECK_OK)
does not count."""
import os
import re
import sys

src = os.environ.get("PKC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
header = open(os.path.join(src, "include", "pkc.h")).read()
walk = open(os.path.join(src, "tests", "unit", "test_errmsg.c")).read()

# Functions returning int that report a value, not an error.
CANNOT_FAIL = {
    "pkc_rtc_peer_is_gathering_done",  # 0 or 1
    "pkc_rtc_channel_get_id",          # -1 before it is assigned
    "pkc_ytxn_is_local", "pkc_ydoc_has_pending", "pkc_ytype_is_deleted", "pkc_ymap_has",
    "pkc_yundo_can_undo", "pkc_yundo_can_redo",
    "pkc_ytxn_commit",                 # commits whatever the transaction did: 0
    "pkc_node_get_fd",                 # a descriptor, -1 when not open
    "pkc_node_get_timeout",            # milliseconds, -1 for none
}


def balanced(text, start):
    """The text from text[start] (an opening parenthesis or brace) to its
    matching closer, inclusive; strings and character literals skipped."""
    open_c = text[start]
    close_c = {"(": ")", "{": "}"}[open_c]
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j
        elif c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    raise SystemExit("unbalanced %s in test_errmsg.c" % open_c)


# The walk's cases, minus the macros' own definitions.
body = re.sub(r"#define EXPECT_\w+\(.*?[^\\]\n", "", walk, flags=re.S)
cases = [balanced(body, m.end() - 1) for m in re.finditer(r"\bEXPECT_(?:FAIL|OOM_WALK)\(", body)]

# Static helpers, by name, and what they contain.
helpers = {}
for m in re.finditer(r"^static [\w \*]+?\b(\w+)\([^;{]*\)\s*\{", body, flags=re.M):
    helpers[m.group(1)] = balanced(body, m.end() - 1)

# Cases include the helpers they call (and the helpers those call). A
# helper that is a callback passed to the engine counts when it is named
# in a case's set-up: those are the BUSY cases run from inside callbacks.
covered = "\n".join(cases)
named = set()
while True:
    new = {h for h in helpers if h not in named and re.search(r"\b%s\b" % h, covered)}
    for h in helpers:
        # callbacks: referenced as a value (".deliver = h") anywhere in the walk
        if h not in named and re.search(r"=\s*%s\b" % h, body) and "EXPECT_FAIL" in helpers[h]:
            new.add(h)
    if not new:
        break
    named |= new
    covered += "\n" + "\n".join(helpers[h] for h in new)

decls = set(re.findall(r"PKC_API (?:PKC_NODISCARD )?int (pkc_\w+)\(", header))
missing = []
for name in sorted(decls):
    if name in CANNOT_FAIL:
        continue
    short = name[: -len("_versioned")] if name.endswith("_versioned") else name
    if not re.search(r"\b(%s|%s)\(" % (re.escape(name), re.escape(short)), covered):
        missing.append(name)
stale = sorted(CANNOT_FAIL - decls)
if stale:
    print("listed as unable to fail but not in pkc.h: " + ", ".join(stale))
if missing:
    print("public functions with no error case in tests/unit/test_errmsg.c:")
    for m in missing:
        print("  " + m)
if missing or stale:
    sys.exit(1)
print("%d functions that return an error code: each has a case" % len(decls - CANNOT_FAIL))
