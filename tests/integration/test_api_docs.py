#!/usr/bin/python3
"""test_api_docs.py — the API documents stay in step with the code.

Every path the C code routes under /openapi, /oauth2 and /demo is in
docs/openapi.yaml and docs/API.md, and openapi.yaml lists no path the code
does not route; every errorCode of src/http/api_reply.h and its name are in the
error table of docs/API.md and in openapi.yaml's ErrorCode enum.  The YAML
paths are read with a small line-based reader (no dependency); when PyYAML is
installed the whole document is also parsed and every $ref resolved.
Prints TAP.
"""

import glob
import os
import re
import sys

sys.dont_write_bytecode = True
TOP_SRCDIR = os.environ.get("top_srcdir", os.getcwd())
n = 0
failed = 0


def ok(cond, desc, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc))
    if not cond:
        failed += 1
        if diag:
            print("#   %s" % diag)


def read(rel):
    with open(os.path.join(TOP_SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def routed_paths():
    """String literals naming API paths in src/http/*.c (route tables and registrations)."""
    paths = set()
    for c in glob.glob(os.path.join(TOP_SRCDIR, "src", "http", "*.c")):
        with open(c, encoding="utf-8") as f:
            paths.update(re.findall(r'"(/(?:openapi|oauth2|demo)/[A-Za-z0-9_/]+)"', f.read()))
    return paths


def yaml_paths(text):
    """Keys of the top-level `paths:` mapping, read line by line."""
    paths, inside = [], False
    for line in text.splitlines():
        if re.match(r"^\S", line):
            inside = line.rstrip() == "paths:"
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if inside and m:
            paths.append(m.group(1))
    return paths


def error_codes():
    """(code, name) of every errorCode in api_reply.h, with its name from api_reply.c."""
    codes = dict((name, int(v)) for name, v in re.findall(r"\b(API_[A-Z_]+) = (10010\d\d)", read("src/http/api_reply.h")))
    names = dict(re.findall(r'case (API_[A-Z_]+): return "([^"]+)";', read("src/http/api_reply.c")))
    return [(codes[k], names.get(k)) for k in sorted(codes, key=codes.get)]


code_paths = routed_paths()
yaml_text = read("docs/openapi.yaml")
api_md = read("docs/API.md")
ypaths = yaml_paths(yaml_text)

ok(len(code_paths) >= 15, "found the routed API paths in src/http (%d)" % len(code_paths), sorted(code_paths))
ok(yaml_text.startswith("openapi: 3."), "docs/openapi.yaml is an OpenAPI 3 document")
ok(len(ypaths) == len(set(ypaths)), "openapi.yaml lists each path once")
for p in sorted(code_paths):
    ok(p in ypaths, "routed path %s is in docs/openapi.yaml" % p)
    ok(p.rsplit("/", 1)[1] in api_md, "routed path %s is documented in docs/API.md" % p)
for p in ypaths:
    ok(p in code_paths, "openapi.yaml path %s is routed by the code" % p)

codes = error_codes()
ok(len(codes) >= 18, "found the errorCodes in src/http/api_reply.h (%d)" % len(codes))
table = dict((int(c), rest) for c, rest in re.findall(r"^\| (10010\d\d) \| (.*)$", api_md, re.M))
enum = re.search(r"ErrorCode:\n(?:.*\n)*?\s+enum: \[([^\]]*)\]", yaml_text)
enum_codes = set(int(x) for x in re.findall(r"\d+", enum.group(1))) if enum else set()
for code, name in codes:
    ok(code in table and name is not None and name in table[code],
       "errorCode %d (%s) is in the error table of docs/API.md" % (code, name), table.get(code))
    ok(code in enum_codes, "errorCode %d is in openapi.yaml's ErrorCode enum" % code)
ok(set(table) == set(c for c, _ in codes), "the API.md error table lists no code the code lacks",
   sorted(set(table) - set(c for c, _ in codes)))
ok(enum_codes == set(c for c, _ in codes), "the ErrorCode enum lists no code the code lacks")

try:
    import yaml
except ImportError:
    yaml = None
if yaml is None:
    print("ok %d # SKIP PyYAML not installed (tools/install-test-deps.sh installs python3-yaml)" % (n + 1))
    n += 1
else:
    doc = yaml.safe_load(yaml_text)
    ok(sorted(doc["paths"]) == sorted(ypaths), "PyYAML reads the same paths as the line reader")
    refs = set(re.findall(r"\$ref: '#/components/([a-zA-Z]+)/([A-Za-z0-9]+)'", yaml_text))
    missing = [r for r in refs if r[1] not in doc["components"].get(r[0], {})]
    ok(refs and not missing, "every $ref resolves (%d distinct)" % len(refs), missing)
    ok(all("post" in v and len(v) == 1 for v in doc["paths"].values()), "every path is POST only, as routed")

print("1..%d" % n)
sys.exit(1 if failed else 0)
