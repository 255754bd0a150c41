#!/usr/bin/python3
"""test_api_docs.py — the API documents stay in step with the code and the
live daemon (issue 16, "The OpenAPI document").

Every path the C code routes under /openapi, /oauth2 and /demo is in
docs/openapi.yaml and docs/API.md, and openapi.yaml lists no path the code
does not route; every errorCode of src/http/api_reply.h and its name are in the
error table of docs/API.md and in openapi.yaml's ErrorCode and ErrorMessage
enums.  The YAML paths are read with a small line-based reader (no
dependency); with PyYAML the document is checked as OpenAPI 3.0 (oas.py, and
openapi-spec-validator where Debian ships it), every $ref resolved, and then
a real irtcd is asked every documented path, successes and failures (the
guide's error shapes included), each answer validated against the schema the
document gives for its status, so a client generated from it works.
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
    return cond


def read(rel):
    with open(os.path.join(TOP_SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def routed_paths():
    """String literals naming API paths in src/http/*.[ch] (route tables and
    registrations); one ending in "/" is a prefix route (files/{fileId})."""
    paths = set()
    for c in glob.glob(os.path.join(TOP_SRCDIR, "src", "http", "*.[ch]")):
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
    names = dict(re.findall(r'\{(API_[A-Z_]+), "([^"]+)", \d+\}', read("src/http/api_reply.c")))
    return [(codes[k], names.get(k)) for k in sorted(codes, key=codes.get)]


def live_check(doc, oas):
    """Every documented path asked of a real irtcd; each answer matches the
    schema documented for its status (or default)."""
    from irtctest import Daemon
    d = Daemon("apidocs", server_yaml="  demo_token: true\n")
    if not ok(d.start(), "irtcd starts for the live shape check"):
        d.dump_log()
        return
    app = d.create_app("docs")
    app_id = app["appId"]
    r = d.rest_token(app_id, app["appToken"])
    token = (r.json or {}).get("access_token", "")
    asked = set()

    def check(path, resp, what, status=None):
        asked.add(path)
        item = doc["paths"].get(path, {})
        op = item.get("post", item.get("get", {}))
        spec = op.get("responses", {})
        doc_resp = spec.get(str(resp.status), spec.get("default"))
        doc_resp = oas.resolve(doc, doc_resp) if doc_resp else None
        schema = (doc_resp or {}).get("content", {}).get("application/json", {}).get("schema")
        body = resp.json
        problems = ["HTTP %d not documented" % resp.status] if schema is None else oas.validate(doc, schema, body)
        if status is not None and resp.status != status:
            problems.insert(0, "HTTP %d, expected %d" % (resp.status, status))
        ok(not problems, "%s %s: HTTP %d answer matches the documented shape" % (path.rsplit("/", 1)[1], what,
                                                                                    resp.status),
           "; ".join(problems[:4]) + " -- " + resp.body[:200].decode("utf-8", "replace"))

    rt = "/oauth2/oauth/rest_token"
    check(rt, r, "with the app's credentials", 200)
    check(rt, d.rest_token(app_id, "wrong"), "with a wrong appToken", 400)
    check(rt, d.post(rt, "x=1", content_type="text/plain"), "as text/plain", 415)
    check(rt, d.request("GET", rt), "by GET", 405)
    api = "/openapi/v1/rtcLive/"

    def call(name, body, what, status=200, tok=None, **kw):
        resp = d.post(api + name, body, token if tok is None else tok, **kw)
        check(api + name, resp, what, status)
        return resp.json if isinstance(resp.json, dict) else {}

    rule = {"appId": app_id, "storageType": "NAS", "fileName": "F_{channel_id}", "recordingType": 0,
            "callbackUrl": "https://127.0.0.1:1/cb", "recordingModel": 0, "status": True}
    call("getMediaEndpoint", {"channelIds": ["room1", 222090805923909]}, "of two channels")
    call("getMediaEndpoint", {"channelIds": []}, "with no channel (1001001)")
    call("getMediaEndpoint", {"channelIds": ["a"]}, "without a token", 401, tok="")
    call("getMediaEndpoint", '{"channelIds":', "with malformed JSON", 400)
    call("getMediaEndpoint", {"channelIds": ["a"]}, "as text/plain", 415, content_type="text/plain")
    call("getMediaEndpoint", {"channelIds": ["a" * 60] * 100, "pad": "x" * 70000}, "over 64 KiB", 413)
    resp = d.request("GET", api + "getMediaEndpoint")
    check(api + "getMediaEndpoint", resp, "by GET", 405)
    rid = call("addRule", rule, "of a NAS rule").get("data", {}).get("recordRuleId")
    call("addRule", dict(rule, storageType="FTP"), "with storageType FTP (1001001)")
    call("updateRule", dict(rule, ruleId=rid, status=False), "of that rule")
    call("queryRuleList", {"appId": app_id}, "of the app")
    call("startAutoRecord", {"appId": app_id, "recordRuleId": rid}, "of the rule")
    call("stopAutoRecord", {"appId": app_id, "recordRuleId": rid}, "of the rule")
    call("startAutoRecord", {"appId": app_id, "recordRuleId": 42}, "of an unknown rule (1001007)")
    cap = {"appId": app_id, "channelId": "room1", "userId": "u1", "recordRuleId": rid}
    call("captureVideo", cap, "with nobody in the room (1001009)")
    call("captureImage", cap, "with nobody in the room (1001009)")
    call("stopCapture", {"appId": app_id, "channelId": "room1"}, "with nothing running (1001008)")
    call("queryRecordingList", {"pageSize": 10}, "of the app")
    call("releaseRoom", {"appId": app_id, "channelId": "room1"}, "of an empty room (1001009)")
    call("releaseUser", {"appId": app_id, "channelId": "room1", "userId": "u1"}, "of nobody (1001009/1001010)")
    call("checkRtcHeath", {"version": "V1"}, "V1")
    call("deleteRule", {"appId": app_id, "ruleId": rid}, "of the rule")
    call("deleteRule", {"appId": app_id, "ruleId": rid}, "again (1001007)")
    resp = d.post(api + "noSuchApi", {}, token)
    ok(resp.status == 404 and not oas.validate(doc, doc["components"]["schemas"]["RequestError"], resp.json),
       "an unknown path: 404 with the documented RequestError shape", resp)
    demo = "/demo/token"
    check(demo, d.post(demo, {"channelId": "room1", "userId": "u1"}), "for the demo app", 200)
    check(demo, d.post(demo, {"channelId": "bad id", "userId": "u1"}), "with a bad channelId", 400)
    files = "/openapi/v1/rtcLive/files/{fileId}"
    for what, tok, status in (("an unknown fileId", token, 404), ("without a token", "", 401)):
        resp = d.request("GET", files.replace("{fileId}", "123456789012345678"),
                         headers={"Authorization": "bearer " + tok} if tok else {})
        check(files, resp, what, status)
    check(files, d.post(files.replace("{fileId}", "1"), {}, token), "by POST", 405)
    missing = sorted(set(doc["paths"]) - asked)
    ok(not missing, "every documented path was asked", missing)
    ok(d.stop() == 0, "irtcd stops cleanly")


code_paths = routed_paths()
yaml_text = read("docs/openapi.yaml")
api_md = read("docs/API.md")
ypaths = yaml_paths(yaml_text)

ok(len(code_paths) >= 15, "found the routed API paths in src/http (%d)" % len(code_paths), sorted(code_paths))
ok(yaml_text.startswith("openapi: 3."), "docs/openapi.yaml is an OpenAPI 3 document")
ok(len(ypaths) == len(set(ypaths)), "openapi.yaml lists each path once")
def matches(route, ypath):
    return ypath == route or (route.endswith("/") and ypath.startswith(route) and "/" not in ypath[len(route):])


for p in sorted(code_paths):
    ok(any(matches(p, y) for y in ypaths), "routed path %s is in docs/openapi.yaml" % p)
    ok(p.rstrip("/").rsplit("/", 1)[1] in api_md, "routed path %s is documented in docs/API.md" % p)
for p in ypaths:
    ok(any(matches(c, p) for c in code_paths), "openapi.yaml path %s is routed by the code" % p)

codes = error_codes()
ok(len(codes) >= 18, "found the errorCodes in src/http/api_reply.h (%d)" % len(codes))
table = dict((int(c), rest) for c, rest in re.findall(r"^\| (10010\d\d) \| (.*)$", api_md, re.M))
enum = re.search(r"ErrorCode:\n(?:.*\n)*?\s+enum: \[([^\]]*)\]", yaml_text)
enum_codes = set(int(x) for x in re.findall(r"\d+", enum.group(1))) - {0} if enum else set()
names_enum = re.search(r"ErrorMessage:\n(?:.*\n)*?\s+enum: \[([^\]]*)\]", yaml_text)
names_enum = set(x.strip() for x in names_enum.group(1).replace("\n", " ").split(",")) if names_enum else set()
for code, name in codes:
    ok(code in table and name is not None and name in table[code],
       "errorCode %d (%s) is in the error table of docs/API.md" % (code, name), table.get(code))
    ok(code in enum_codes, "errorCode %d is in openapi.yaml's ErrorCode enum" % code)
    ok(name in names_enum, "its name %r is in openapi.yaml's ErrorMessage enum" % name)
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
    ok(all(len(v) == 1 and ("post" in v or (k.endswith("{fileId}") and "get" in v)) for k, v in doc["paths"].items()),
       "every path is POST only, as routed (files/{fileId}: GET)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import oas
    problems = oas.check_document(doc)
    ok(not problems, "docs/openapi.yaml is a valid OpenAPI 3.0 document (%d problems)" % len(problems),
       "; ".join(problems[:5]))
    try:
        from openapi_spec_validator import validate_spec
    except ImportError:
        validate_spec = None
    if validate_spec is None:
        print("ok %d # SKIP openapi-spec-validator not installed (Debian 13's python3-openapi-spec-validator)" % (n + 1))
        n += 1
    else:
        try:
            validate_spec(doc)
            ok(True, "openapi-spec-validator accepts docs/openapi.yaml")
        except Exception as e:  # its own exception types vary by version
            ok(False, "openapi-spec-validator accepts docs/openapi.yaml", str(e)[:300])
    live_check(doc, oas)

print("1..%d" % n)
sys.exit(1 if failed else 0)
