#!/usr/bin/python3
"""test_rest_api.py — the northbound REST API over real HTTPS against the
built irtcd: the token call (JSON and form), bearer checks and 401s, the
envelope, every endpoint's happy path and validation errors, cross-app
refusal, big-number ids, request-level errors (method, path, JSON,
Content-Type, size), restart persistence, /demo/token, and, in a second
daemon with a tiny limit, 429 with Retry-After.  Prints TAP.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from irtctest import TOP_SRCDIR, Daemon, Tap  # noqa: E402

sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "vectors"))
import jointoken_vectors  # noqa: E402  (the guide's Java reference, transcribed)

t = Tap()
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
UNAUTHORIZED = {"error": "invalid_token", "error_description": "check_token error"}


def envelope_ok(r):
    j = r.json
    return (r.status == 200 and isinstance(j, dict) and sorted(j) == ["data", "errorCode", "errorMessage", "timestamp"]
            and j["errorCode"] == "0" and j["errorMessage"] is None and TS_RE.match(j["timestamp"]) is not None)


def code_of(r):
    return r.json.get("errorCode") if isinstance(r.json, dict) else None


def code_names():
    """{code: name} from the one table that maps them (src/http/api_reply.c)."""
    with open(os.path.join(TOP_SRCDIR, "src", "http", "api_reply.h"), encoding="utf-8") as f:
        enum = dict(re.findall(r"\b(API_[A-Z_]+) = (10010\d\d)", f.read()))
    with open(os.path.join(TOP_SRCDIR, "src", "http", "api_reply.c"), encoding="utf-8") as f:
        rows = re.findall(r'\{(API_[A-Z_]+), "([^"]+)", (\d+)\}', f.read())
    return dict((int(enum[k]), name) for k, name, _ in rows if k in enum)


NAMES = code_names()


def expect_code(r, code, desc, status=200, field=None):
    """Guide §8.3.3, "返回结果": an interface error is HTTP 200 with
    {"errorCode": "1001001", "errorMessage": "PARAM_IS_INVALID", "data": null,
    "timestamp": ...}, errorCode a string and errorMessage exactly the code's
    name (our cause, naming the field, in errorDetail); a gateway error is any
    status but 200 with {"error": "...", "error_description": "..."}."""
    j = r.json if isinstance(r.json, dict) else {}
    good = (r.status == status and j.get("errorCode") == str(code) and j.get("errorMessage") == NAMES.get(code)
            and j.get("data", 0) is None and TS_RE.match(str(j.get("timestamp"))) is not None
            and isinstance(j.get("errorDetail"), str) and j["errorDetail"] != "")
    if status != 200:
        good = (good and isinstance(j.get("error"), str) and re.match(r"^[a-z_]+$", j["error"]) is not None
                and j.get("error_description") == j.get("errorDetail"))
    else:
        good = good and "error" not in j and "error_description" not in j
    if field is not None:
        good = good and field in str(j.get("errorDetail"))
    return t.ok(good, desc, r)


def db_exec(db, sql, args=()):
    conn = sqlite3.connect(db, timeout=10)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


# ---------------------------------------------------------------- daemon A
A = Daemon("rest", server_yaml="  demo_token: true\n", extra_yaml="limits:\n  api_calls_per_minute: 1000\n")
if not t.ok(A.start(), "daemon A starts"):
    sys.exit(t.done())

acme = A.create_app("acme")
other = A.create_app("other")
doomed = A.create_app("doomed")
ACME, OTHER = acme["appId"], other["appId"]


# ---------------------------------------------------------------- rest_token
def test_rest_token():
    r = A.rest_token(ACME, acme["appToken"])
    j = r.json or {}
    t.ok(r.status == 200 and sorted(j) == ["access_token", "expires_in", "plat_user", "scope", "token_type"],
         "rest_token: 200 with exactly the contract's top-level fields (no envelope)", r)
    t.ok(j.get("token_type") == "bearer" and j.get("scope") == "all", "token_type bearer, scope all")
    t.ok(1195 <= j.get("expires_in", 0) <= 1199, "fresh token: expires_in is about 1199 (%s)" % j.get("expires_in"))
    pu = j.get("plat_user", {})
    t.ok(pu.get("userNo") == ACME and pu.get("userName") == "acme" and pu.get("userType") == "API"
         and pu.get("tenantId") == int(acme["tenantId"]) and isinstance(pu.get("userId"), int)
         and pu.get("userExtendMap", {}).get("clientId") == "isdp-saas-openapi"
         and pu.get("currentLoginType") == "password" and "phone" in pu and pu.get("password") is None,
         "plat_user carries the app's ids in the guide's shape", pu)
    # Guide §8.3.2's answers: "tenantId": 50222 and "tenantId": 886, numbers.
    t.ok(isinstance(pu.get("tenantId"), int) and not isinstance(pu.get("tenantId"), bool)
         and ('"tenantId":%d' % pu.get("tenantId", -1)).encode() in r.body,
         "plat_user.tenantId is a JSON number, as the guide's \"tenantId\": 886", pu.get("tenantId"))
    tok = j.get("access_token", "")
    time.sleep(1.1)
    r2 = A.rest_token(ACME, acme["appToken"])
    t.ok(r2.json.get("access_token") == tok, "the same token is returned while it is valid")
    t.ok(r2.json.get("expires_in", 9999) < j.get("expires_in", 0), "expires_in counts down (%s)" % r2.json.get("expires_in"))
    form = ("client_id=isdp-saas-openapi&client_secret=isdp-saas-openapi&grant_type=password&username=%s&password=%s"
            % (ACME, acme["appToken"]))
    r3 = A.post("/oauth2/oauth/rest_token", form, content_type="application/x-www-form-urlencoded")
    t.ok(r3.status == 200 and r3.json.get("access_token") == tok, "form-urlencoded body gives the same token", r3)
    rows = db_exec(A.db, "SELECT token_hash FROM rest_tokens WHERE app_id = ?", (ACME,))
    t.ok(rows == [(hashlib.sha256(tok.encode()).hexdigest(),)], "only the token's SHA-256 is stored", rows)

    cases = [
        ({"password": "wrong"}, 400, "invalid_grant", "wrong appToken"),
        ({"username": "NoSuchApp"}, 400, "invalid_grant", "unknown appId"),
        ({"client_id": "other"}, 401, "invalid_client", "wrong client_id"),
        ({"client_secret": "x"}, 401, "invalid_client", "wrong client_secret"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type", "grant_type other than password"),
        ({"password": None}, 400, "invalid_request", "missing password"),
        ({"username": "bad id!"}, 400, "invalid_request", "malformed username"),
    ]
    for override, status, error, what in cases:
        r = A.rest_token(ACME, acme["appToken"], **override)
        t.ok(r.status == status and (r.json or {}).get("error") == error
             and (r.json or {}).get("error_description"), "rest_token %s: %d %s" % (what, status, error), r)
    # An unknown appId and a known one with a wrong appToken are told apart
    # neither by the answer nor by the time it takes (PBKDF2 either way).
    # The time is the daemon's own (its access log), so TLS set-up and a
    # busy machine do not drown the difference (27 ms against 61 ms before).
    unknown = A.rest_token("NoSuchApp", acme["appToken"])
    wrong = A.rest_token(ACME, "wrong")
    t.ok((unknown.status, unknown.json) == (wrong.status, wrong.json),
         "rest_token: unknown appId and wrong appToken get the same answer", (unknown.json, wrong.json))
    line = re.compile(r"POST /oauth2/oauth/rest_token HTTP/\S+ 400 \d+ ([\d.]+)ms route=rest_token")
    times = {"unknown": [], "wrong": []}
    for block in range(3):
        for kind in ("unknown", "wrong"):
            start = os.path.getsize(A.log)
            for i in range(5):
                if kind == "unknown":
                    A.rest_token("NoSuchApp%d%d" % (block, i), "x")
                else:
                    A.rest_token(ACME, "wrong%d" % i)
            # The access-log line is written as the request is disposed of,
            # which can come after the client has its answer: wait for all 5.
            deadline, found = time.monotonic() + 5, []
            while len(found) < 5 and time.monotonic() < deadline:
                with open(A.log, "rb") as f:
                    f.seek(start)
                    found = [float(m) for m in line.findall(f.read().decode("utf-8", "replace"))]
                if len(found) < 5:
                    time.sleep(0.05)
            times[kind] += found[:5]
    med = {k: sorted(v)[len(v) // 2] if v else 0.0 for k, v in times.items()}
    t.ok(len(times["unknown"]) == 15 and len(times["wrong"]) == 15 and med["wrong"] > 0
         and 0.5 <= med["unknown"] / med["wrong"] <= 2,
         "rest_token failure takes the daemon as long for an unknown appId (median %.1f ms) as for a wrong "
         "appToken (%.1f ms)" % (med["unknown"], med["wrong"]), times)
    r = A.post("/oauth2/oauth/rest_token", '{"client_id":', content_type="application/json")
    t.ok(r.status == 400 and r.json.get("error") == "invalid_request", "rest_token malformed JSON: 400", r)
    r = A.post("/oauth2/oauth/rest_token", "client_id=%zz", content_type="application/x-www-form-urlencoded")
    t.ok(r.status == 400 and r.json.get("error") == "invalid_request", "rest_token bad form escape: 400", r)
    r = A.post("/oauth2/oauth/rest_token", "x", content_type="text/plain")
    t.ok(r.status == 415, "rest_token text/plain: 415", r)
    r = A.request("GET", "/oauth2/oauth/rest_token")
    t.ok(r.status == 405 and r.headers.get("allow") == "POST", "rest_token GET: 405 with Allow: POST", r)
    return tok


TOKEN = test_rest_token()
OTHER_TOKEN = A.rest_token(OTHER, other["appToken"]).json["access_token"]
t.ok(OTHER_TOKEN != TOKEN, "each app gets its own token")


# ---------------------------------------------------------------- bearer checks
def test_auth():
    path = "/openapi/v1/rtcLive/checkRtcHeath"
    body = json.dumps({"version": "V1"})
    ct = {"Content-Type": "application/json"}
    for what, h in [("no Authorization header", {}),
                    ("Basic scheme", {"Authorization": "Basic " + TOKEN}),
                    ("token without scheme", {"Authorization": TOKEN}),
                    ("unknown token", {"Authorization": "bearer " + "0" * 64}),
                    ("garbage token", {"Authorization": "bearer not-a-token"}),
                    ("empty bearer", {"Authorization": "bearer "})]:
        r = A.request("POST", path, body, dict(ct, **h))
        t.ok(r.status == 401 and r.json == UNAUTHORIZED, "401 invalid_token for %s" % what, r)
    for scheme in ("Bearer", "BEARER", "bearer"):
        r = A.request("POST", path, body, dict(ct, Authorization="%s  %s " % (scheme, TOKEN)))
        t.ok(envelope_ok(r) and r.json["data"] == "OK", "scheme %r accepted (case-insensitive)" % scheme, r)

    # A deleted app's token stops working at once.
    dt = A.rest_token(doomed["appId"], doomed["appToken"]).json["access_token"]
    t.ok(envelope_ok(A.api("checkRtcHeath", {"version": "V1"}, dt)), "doomed app's token works")
    A.cli("app", "delete", doomed["appId"])
    r = A.api("checkRtcHeath", {"version": "V1"}, dt)
    t.ok(r.status == 401 and r.json == UNAUTHORIZED, "token of a deleted app: 401", r)


test_auth()


# ---------------------------------------------------------------- envelope and request errors
def test_request_errors():
    r = A.api("checkRtcHeath", {"version": "V1"}, TOKEN)
    t.ok(envelope_ok(r) and r.json["data"] == "OK", "checkRtcHeath: data \"OK\" in the contract's envelope", r)
    t.ok(r.headers.get("content-type", "").startswith("application/json"), "answers are application/json")
    expect_code(A.api("checkRtcHeath", {}, TOKEN), 1001001, "checkRtcHeath without version: 1001001",
                field="version")
    expect_code(A.api("checkRtcHeath", {"version": "V9"}, TOKEN), 1001001, "checkRtcHeath version V9: 1001001",
                field="version")
    r = A.api("checkRtcHeath", {"version": "V1", "somethingNew": [1, {"x": None}]}, TOKEN)
    t.ok(envelope_ok(r), "unknown extra fields are ignored", r)

    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", '{"version":', TOKEN), 1001002,
                "malformed JSON: 400 1001002", status=400)
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", '[{"version":"V1"}]', TOKEN), 1001002,
                "a JSON array body: 400 1001002", status=400)
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", '{"version":"V1","version":"V1"}', TOKEN), 1001002,
                "duplicate keys: 400 1001002", status=400)
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", "", TOKEN), 1001002, "empty body: 400 1001002",
                status=400)
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", '{"version":"V1"}', TOKEN, content_type="text/plain"),
                1001003, "text/plain: 415 1001003", status=415)
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", '{"version":"V1"}', TOKEN, content_type=None),
                1001003, "no Content-Type: 415 1001003", status=415)
    r = A.post("/openapi/v1/rtcLive/checkRtcHeath", '{"version":"V1"}', TOKEN,
               content_type="application/json; charset=UTF-8")
    t.ok(envelope_ok(r), "Content-Type with a charset parameter accepted", r)

    big = json.dumps({"version": "V1", "pad": "x" * 70000})
    expect_code(A.post("/openapi/v1/rtcLive/checkRtcHeath", big, TOKEN), 1001031, "body over 64 KiB: 413 1001031",
                status=413)
    exact = '{"version":"V1","pad":"%s"}' % ("x" * (65536 - 25))
    t.ok(len(exact) == 65536 and envelope_ok(A.post("/openapi/v1/rtcLive/checkRtcHeath", exact, TOKEN)),
         "a body of exactly 64 KiB is accepted")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write(big)
        f.flush()
        p = subprocess.run(["curl", "-ks", "--http2", "--max-time", "10", "-w", "\n%{http_code} %{http_version}",
                            "-H", "Content-Type: application/json", "-H", "Authorization: bearer " + TOKEN,
                            "--data-binary", "@" + f.name,
                            "https://127.0.0.1:%d/openapi/v1/rtcLive/checkRtcHeath" % A.https_port],
                           capture_output=True, timeout=30)
    out = p.stdout.decode().rsplit("\n", 1)
    t.ok(len(out) == 2 and out[1] == "413 2" and '"errorCode":"1001031"' in out[0] and '"error":"invalid_request"' in out[0],
         "over 64 KiB on HTTP/2 too: 413 with error, error_description and the envelope", p.stdout[-300:])
    try:
        r = A.post("/openapi/v1/rtcLive/checkRtcHeath", "x" * (2 * 1024 * 1024), TOKEN)
        refused = r.status == 413
    except OSError:
        refused = True  # h2o may close before reading the body
    t.ok(refused and A.request("GET", "/healthz").status == 200, "a 2 MiB body is refused; the daemon lives on")

    expect_code(A.api("noSuchThing", {}, TOKEN), 1001004, "unknown API: 404 1001004", status=404)
    expect_code(A.api("checkRtcHeath/extra", {"version": "V1"}, TOKEN), 1001004,
                "path below an API: 404 1001004", status=404)
    expect_code(A.post("/openapi/v2/rtcLive/checkRtcHeath", {}, TOKEN), 1001004, "other version: 404", status=404)
    expect_code(A.post("/oauth2/other", {}), 1001004, "unknown /oauth2 path: 404", status=404)
    expect_code(A.post("/oauth2/oauth/rest_token/x", {}), 1001004, "path below rest_token: 404 envelope", status=404)
    for method in ("GET", "PUT", "DELETE"):
        r = A.request(method, "/openapi/v1/rtcLive/addRule", headers={"Authorization": "bearer " + TOKEN})
        expect_code(r, 1001005, "%s addRule: 405 1001005" % method, status=405)
    t.ok(r.headers.get("allow") == "POST", "405 carries Allow: POST")


test_request_errors()


# ---------------------------------------------------------------- getMediaEndpoint
def test_media_endpoint():
    chans = ["room1", "room2", "222090805923909", "a-b_C"]
    r = A.api("getMediaEndpoint", {"channelIds": chans + [231914379845701]}, TOKEN)
    lst = (r.json or {}).get("data", {}).get("list", [])
    t.ok(envelope_ok(r) and [e.get("channelId") for e in lst] == chans + ["231914379845701"],
         "getMediaEndpoint: one entry per channel, numbers taken as their digits", r)
    ports = {str(A.media_port), str(A.media_port + 1)}
    t.ok(all(e.get("ip") == "127.0.0.1" and e.get("port") in ports and sorted(e) == ["channelId", "ip", "port"]
             for e in lst), "each entry: the announced ip and a worker's UDP port, as a string", lst)
    t.ok(len({e["port"] for e in lst}) == 2, "channels spread over both workers")
    r2 = A.api("getMediaEndpoint", {"channelIds": list(reversed(chans))}, TOKEN)
    again = {e["channelId"]: e["port"] for e in r2.json["data"]["list"]}
    t.ok(all(again[e["channelId"]] == e["port"] for e in lst[:4]), "a channel's endpoint is stable")
    expect_code(A.api("getMediaEndpoint", {}, TOKEN), 1001001, "channelIds missing: 1001001", field="channelIds")
    expect_code(A.api("getMediaEndpoint", {"channelIds": []}, TOKEN), 1001001, "channelIds empty: 1001001",
                field="channelIds")
    expect_code(A.api("getMediaEndpoint", {"channelIds": "room1"}, TOKEN), 1001001,
                "channelIds not an array: 1001001", field="channelIds")
    expect_code(A.api("getMediaEndpoint", {"channelIds": ["ok", "not ok"]}, TOKEN), 1001001,
                "bad channelId: 1001001 naming channelIds[1]", field="channelIds[1]")
    expect_code(A.api("getMediaEndpoint", {"channelIds": ["c%d" % i for i in range(101)]}, TOKEN), 1001001,
                "more than 100 channels: 1001001", field="channelIds")


test_media_endpoint()


# ---------------------------------------------------------------- rules
RULE = {"appId": ACME, "storageType": "NAS", "recordPath": "/saas/application/{app_id}/", "fileName": "AICC_{channel_id}",
        "captureInterval": 2, "captureNums": 3, "recordingType": 0, "callbackUrl": "https://example.com/cb",
        "extraData": "x", "recordingModel": 0, "mixingEnabled": 0, "status": True}


def with_(base, **kw):
    d = dict(base)
    for k, v in kw.items():
        if v is KeyError:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def add_rule(**kw):
    r = A.api("addRule", with_(RULE, **kw), TOKEN)
    if not envelope_ok(r):
        t.diag("addRule failed: %r" % r)
        return None
    return r.json["data"]["recordRuleId"]


def query(**kw):
    return A.api("queryRuleList", dict({"appId": ACME}, **kw), TOKEN)


def test_add_rule_validation():
    bad = [
        ("appId", KeyError), ("appId", "bad id"), ("appId", 12.5),
        ("storageType", "FTP"), ("storageType", 1),
        ("recordPath", "/saas/../etc"), ("recordPath", 5), ("recordPath", "/x/{nope}"),
        ("fileName", KeyError), ("fileName", "a/b"), ("fileName", ""),
        ("captureInterval", 0), ("captureInterval", "abc"), ("captureInterval", 1.5),
        ("captureNums", 0), ("captureNums", 100000),
        ("recordingType", KeyError), ("recordingType", 2), ("recordingType", True),
        ("callbackUrl", KeyError), ("callbackUrl", "ftp://example.com/x"), ("callbackUrl", "not a url"),
        ("extraData", "e" * 1001), ("extraData", 5),
        ("recordingModel", KeyError), ("recordingModel", 3),
        ("mixingEnabled", 2), ("mixingEnabled", "maybe"),
        ("status", KeyError), ("status", "yes"), ("status", 1),
    ]
    for field, value in bad:
        r = A.api("addRule", with_(RULE, **{field: value}), TOKEN)
        what = "missing" if value is KeyError else "= %s" % json.dumps(value)[:30]
        expect_code(r, 1001001, "addRule %s %s: 1001001 naming the field" % (field, what), field=field)
    t.ok(envelope_ok(A.api("addRule", with_(RULE, extraData="é" * 500), TOKEN)), "extraData of 1000 UTF-8 bytes ok")
    expect_code(A.api("addRule", with_(RULE, extraData="é" * 500 + "x"), TOKEN), 1001001,
                "extraData of 1001 UTF-8 bytes refused", field="extraData")


def test_rules():
    before = query(pageSize=100).json["data"]["totalCount"]
    ids = [add_rule(), add_rule(recordingType=1, recordingModel=1, storageType="ISDP"), add_rule(recordingModel=1)]
    t.ok(all(isinstance(i, int) and i > 2 ** 53 for i in ids), "addRule returns numeric recordRuleIds (> 2^53)", ids)
    raw = A.api("addRule", RULE, TOKEN)
    rid = raw.json["data"]["recordRuleId"]
    t.ok(('"recordRuleId":%d' % rid).encode() in raw.body, "the id's digits travel exactly in the JSON text")
    ids.append(rid)
    alias = add_rule(callbackUrl=KeyError, callBackUrl="http://localhost:8900/receive", fileName=KeyError,
                     filename="F_{date_time}", unknownField={"x": 1})
    t.ok(alias is not None, "addRule accepts callBackUrl/filename spellings and ignores unknown fields")
    ids.append(alias)
    minimal = add_rule(recordPath=KeyError, captureInterval=KeyError, captureNums=KeyError, extraData=KeyError,
                       mixingEnabled=KeyError, recordingType="0", recordingModel="1")
    t.ok(minimal is not None, "addRule with only the required fields (integers as strings too)")
    ids.append(minimal)

    r = query(pageSize=100, pageNo=1)
    d = r.json["data"]
    t.ok(envelope_ok(r) and d["totalCount"] == before + len(ids) and d["pos"] == 1
         and len(d["list"]) == before + len(ids),
         "queryRuleList: every rule, totalCount and pos", r)
    by_id = {e["ruleId"]: e for e in d["list"]}
    isdp_base = os.path.join(A.dir, "var", "isdp")
    t.eq(by_id.get(ids[1], {}).get("basePath"), isdp_base,
         "an ISDP rule's basePath is where its files go: the data directory's isdp/, not the NAS base path")
    e = by_id.get(ids[0], {})
    want = {"ruleId": ids[0], "storageType": "NAS", "recordPath": "/saas/application/{app_id}/",
            "fileName": "AICC_{channel_id}", "captureInterval": 2, "captureNums": 3, "recordingType": 0,
            "callbackUrl": "https://example.com/cb", "extraData": "x", "recordingModel": 0, "status": True,
            "appId": ACME, "mixingEnabled": 0, "basePath": A.nas}
    t.eq(e, want, "a rule reads back with every field and basePath = the NAS base path")
    m = by_id.get(minimal, {})
    t.ok(m.get("recordPath") is None and m.get("extraData") is None and m.get("captureInterval") == 1
         and m.get("captureNums") == 1 and m.get("mixingEnabled") == 0 and m.get("recordingModel") == 1,
         "unset optional fields: null, defaults 1/1/0", m)
    t.eq(by_id.get(alias, {}).get("callbackUrl"), "http://localhost:8900/receive", "callBackUrl stored as callbackUrl")

    # Guide table 8.5.1-2 (recordRule): "storageType … N … 可选值NAS、ISDP，默认为ISDP",
    # "modeType int Y 录制类型 0 单流， 1合流"; table 8.5.2-2: storage_type, capture_interval,
    # capture_nums.
    guide = add_rule(storageType=KeyError, recordingModel=KeyError, modeType=1, captureInterval=KeyError,
                     captureNums=KeyError, capture_interval=5, capture_nums=7)
    snake = add_rule(storageType=KeyError, storage_type="NAS")
    ids += [x for x in (guide, snake) if x is not None]
    g = {e["ruleId"]: e for e in query(pageSize=100).json["data"]["list"]}
    ge, se = g.get(guide, {}), g.get(snake, {})
    t.ok(ge.get("storageType") == "ISDP" and ge.get("basePath") == isdp_base and ge.get("recordingModel") == 1
         and ge.get("captureInterval") == 5 and ge.get("captureNums") == 7,
         "the guide's recordRule spellings: storageType defaults to ISDP, modeType, capture_interval, capture_nums", ge)
    t.ok(se.get("storageType") == "NAS" and se.get("basePath") == A.nas, "storage_type NAS", se)
    expect_code(A.api("addRule", with_(RULE, storageType=KeyError, storage_type="FTP"), TOKEN), 1001001,
                "storage_type FTP: 1001001 naming storageType", field="storageType")

    r = query(pageSize=2, pageNo=2)
    t.ok(r.json["data"]["pos"] == 2 and len(r.json["data"]["list"]) == 2
         and r.json["data"]["totalCount"] == before + len(ids),
         "paging: page 2 of size 2", r)
    r = query(pageSize=5, pageNo=99)
    t.ok(r.json["data"]["list"] == [] and r.json["data"]["totalCount"] == before + len(ids),
         "a page past the end is empty")
    r = query(recordingType=1)
    t.ok([x["ruleId"] for x in r.json["data"]["list"]] == [ids[1]], "filter by recordingType", r)
    r = query(recordingModel="1")
    t.ok(sorted(x["ruleId"] for x in r.json["data"]["list"]) == sorted([ids[1], ids[2], minimal] + ([guide] if guide else [])),
         "filter by recordingModel (given as a string)", r)
    r = query(ruleId=str(ids[3]))
    t.ok([x["ruleId"] for x in r.json["data"]["list"]] == [ids[3]], "filter by ruleId given as a string", r)
    r = A.post("/openapi/v1/rtcLive/queryRuleList", '{"appId":"%s","ruleId":%d}' % (ACME, ids[3]), TOKEN)
    t.ok([x["ruleId"] for x in r.json["data"]["list"]] == [ids[3]], "filter by ruleId given as a big number")
    r = query()
    t.ok(len(r.json["data"]["list"]) == min(10, before + len(ids)) and r.json["data"]["pos"] == 1, "default page: 10, pos 1")
    for kw, field in [({"pageSize": 0}, "pageSize"), ({"pageSize": 101}, "pageSize"), ({"pageNo": 0}, "pageNo"),
                      ({"pageNo": "x"}, "pageNo"), ({"ruleId": "abc"}, "ruleId"), ({"recordingType": 7}, "recordingType")]:
        expect_code(query(**kw), 1001001, "queryRuleList %s: 1001001" % json.dumps(kw), field=field)
    expect_code(A.api("queryRuleList", {}, TOKEN), 1001001, "queryRuleList without appId: 1001001", field="appId")

    # updateRule
    upd = with_(RULE, ruleId=ids[0], callbackUrl="https://example.org/new", status=False, extraData="y",
                recordPath=KeyError, captureInterval=KeyError)
    r = A.api("updateRule", upd, TOKEN)
    t.ok(envelope_ok(r) and r.json["data"] is None, "updateRule: success, data null", r)
    e = query(ruleId=ids[0]).json["data"]["list"][0]
    t.ok(e["callbackUrl"] == "https://example.org/new" and e["status"] is False and e["extraData"] == "y"
         and e["recordPath"] == "/saas/application/{app_id}/" and e["captureInterval"] == 2,
         "updateRule changes the given fields and keeps absent optional ones", e)
    r = A.api("updateRule", with_(RULE, ruleId=str(ids[0]), storageType="ISDP"), TOKEN)
    t.ok(envelope_ok(r) and query(ruleId=ids[0]).json["data"]["list"][0]["storageType"] == "ISDP",
         "updateRule with ruleId as a string")
    for field, value in [("ruleId", KeyError), ("ruleId", "x1"), ("storageType", "S3"), ("fileName", KeyError),
                         ("callbackUrl", KeyError), ("status", KeyError), ("callbackUrl", "gopher://x"),
                         ("recordingType", 9)]:
        body = with_(dict(RULE, ruleId=ids[0]), **{field: value})
        what = "missing" if value is KeyError else "= %s" % json.dumps(value)
        expect_code(A.api("updateRule", body, TOKEN), 1001001, "updateRule %s %s: 1001001" % (field, what),
                    field=field)
    expect_code(A.api("updateRule", with_(RULE, ruleId=123456789), TOKEN), 1001007,
                "updateRule of an unknown rule: 1001007")

    # deleteRule
    r = A.api("deleteRule", {"appId": ACME, "ruleId": ids[2]}, TOKEN)
    t.ok(envelope_ok(r) and r.json["data"] is None, "deleteRule: success")
    expect_code(A.api("deleteRule", {"appId": ACME, "ruleId": ids[2]}, TOKEN), 1001007,
                "deleteRule again: 1001007 RULE_NOT_FOUND")
    t.ok(envelope_ok(A.api("deleteRule", {"ruleId": str(ids[4])}, TOKEN)), "deleteRule without appId (optional)")
    expect_code(A.api("deleteRule", {"appId": ACME}, TOKEN), 1001001, "deleteRule without ruleId: 1001001",
                field="ruleId")
    t.eq(query(pageSize=100).json["data"]["totalCount"], before + len(ids) - 2, "two rules fewer")
    return ids[0], ids[1]


test_add_rule_validation()
RULE_ID, RULE_ID2 = test_rules()


# ---------------------------------------------------------------- cross-app
def test_cross_app():
    expect_code(A.api("addRule", RULE, OTHER_TOKEN), 1001006, "addRule with another app's appId: 1001006",
                field=ACME)
    expect_code(A.api("queryRuleList", {"appId": ACME}, OTHER_TOKEN), 1001006,
                "queryRuleList of another app: 1001006")
    expect_code(A.api("deleteRule", {"appId": ACME, "ruleId": RULE_ID}, OTHER_TOKEN), 1001006,
                "deleteRule naming another app: 1001006")
    expect_code(A.api("deleteRule", {"ruleId": RULE_ID}, OTHER_TOKEN), 1001007,
                "deleteRule of another app's rule id under one's own app: not found")
    expect_code(A.api("updateRule", with_(RULE, appId=OTHER, ruleId=RULE_ID), OTHER_TOKEN), 1001007,
                "updateRule of another app's rule: not found")
    expect_code(A.api("startAutoRecord", {"appId": OTHER, "recordRuleId": RULE_ID}, OTHER_TOKEN), 1001007,
                "startAutoRecord of another app's rule: not found")
    expect_code(A.api("releaseRoom", {"appId": ACME, "channelId": "r"}, OTHER_TOKEN), 1001006,
                "releaseRoom naming another app: 1001006")
    r = query(ruleId=RULE_ID)
    t.ok(len(r.json["data"]["list"]) == 1, "the rule is untouched")
    r = A.api("queryRuleList", {"appId": OTHER}, OTHER_TOKEN)
    t.ok(envelope_ok(r) and r.json["data"]["totalCount"] == 0, "the other app sees none of acme's rules")


test_cross_app()


# ---------------------------------------------------------------- auto record
def test_auto_record():
    def active(rule_id):
        return db_exec(A.db, "SELECT auto_record_active FROM rules WHERE rule_id = ?", (rule_id,))
    r = A.api("startAutoRecord", {"appId": ACME, "recordRuleId": RULE_ID}, TOKEN)
    t.ok(envelope_ok(r) and r.json["data"] is None and active(RULE_ID) == [(1,)], "startAutoRecord persists", r)
    r = A.api("startAutoRecord", {"appId": ACME, "recordRuleId": str(RULE_ID2)}, TOKEN)
    t.ok(envelope_ok(r) and active(RULE_ID2) == [(1,)], "startAutoRecord with the id as a string")
    r = A.api("stopAutoRecord", {"appId": ACME, "recordRuleId": RULE_ID}, TOKEN)
    t.ok(envelope_ok(r) and active(RULE_ID) == [(0,)] and active(RULE_ID2) == [(1,)],
         "stopAutoRecord clears only that rule")
    for name in ("startAutoRecord", "stopAutoRecord"):
        expect_code(A.api(name, {"appId": ACME}, TOKEN), 1001001, "%s without recordRuleId: 1001001" % name,
                    field="recordRuleId")
        expect_code(A.api(name, {"appId": ACME, "recordRuleId": "1x"}, TOKEN), 1001001,
                    "%s bad recordRuleId: 1001001" % name, field="recordRuleId")
        expect_code(A.api(name, {"appId": ACME, "recordRuleId": 42}, TOKEN), 1001007,
                    "%s unknown rule: 1001007" % name)
        expect_code(A.api(name, {"recordRuleId": RULE_ID}, TOKEN), 1001001, "%s without appId: 1001001" % name,
                    field="appId")


test_auto_record()


# ---------------------------------------------------------------- capture, stop, release (nobody in the rooms)
CAPTURE = {"appId": ACME, "channelId": "23198805", "userId": "444444", "recordRuleId": None,
           "recordPath": "/saas/application/{channel_id}/", "callbackUrl": "http://localhost:8900/receive/recipeVideo",
           "extraData": "", "fileName": "AICC_{date_time}_{channel_id}"}


def test_capture():
    """Validation, then the recorder: with nobody in the room, 1001009 (test_record.py records real calls)."""
    base = dict(CAPTURE, recordRuleId=str(RULE_ID))
    for name in ("captureVideo", "captureImage"):
        r = A.api(name, base, TOKEN)
        expect_code(r, 1001009, "%s, valid, nobody in the room: 1001009 ROOM_NOT_FOUND" % name)
        t.ok("channelId" in r.json.get("errorDetail", ""), "errorDetail names channelId", r)
    r = A.post("/openapi/v1/rtcLive/captureVideo",
               json.dumps(dict(base, recordRuleId=0)).replace('"recordRuleId": 0', '"recordRuleId": %d' % RULE_ID),
               TOKEN)
    expect_code(r, 1001009, "captureVideo with recordRuleId as a big number passes validation")
    guide_example = {"channelId": "23198805", "appId": ACME, "recordRuleId": str(RULE_ID),
                     "recordPath": "/saas/application/test/", "fileName": "AICC_test", "userId": "444444",
                     "callBackUrl": "http://localhost:8900/receive/recipeVideo"}
    expect_code(A.api("captureVideo", guide_example, TOKEN), 1001009, "the guide's own example passes validation")
    bad = [("channelId", KeyError), ("channelId", "bad id"), ("channelId", "c" * 65),
           ("userId", KeyError), ("userId", "u" * 65), ("userId", ["x"]),
           ("recordRuleId", KeyError), ("recordRuleId", "abc"), ("recordRuleId", -1),
           ("recordPath", "/a/../b"), ("recordPath", 1),
           ("callbackUrl", "mailto:x@y"), ("callbackUrl", 3),
           ("extraData", "e" * 1001), ("extraData", {}),
           ("fileName", "a/b"), ("fileName", "{bogus}"),
           ("appId", KeyError), ("appId", "bad app")]
    for field, value in bad:
        what = "missing" if value is KeyError else "= %s" % json.dumps(value)[:30]
        expect_code(A.api("captureVideo", with_(base, **{field: value}), TOKEN), 1001001,
                    "captureVideo %s %s: 1001001 naming the field" % (field, what), field=field)
    expect_code(A.api("captureImage", with_(base, userId=KeyError), TOKEN), 1001001,
                "captureImage without userId: 1001001", field="userId")
    expect_code(A.api("captureVideo", with_(base, recordRuleId=99), TOKEN), 1001007,
                "captureVideo with an unknown rule: 1001007")
    expect_code(A.api("captureVideo", with_(base, appId=OTHER), TOKEN), 1001006,
                "captureVideo naming another app: 1001006")

    # stopCapture: the guide's example has a recordingId above 2^53 and channelId "".
    body = '{"recordingId":202212311431169569,"channelId":"","appId":"%s"}' % ACME
    expect_code(A.post("/openapi/v1/rtcLive/stopCapture", body, TOKEN), 1001008,
                "stopCapture, the guide's example (big number, empty channel): validated, then 1001008 (no such "
                "recording)")
    expect_code(A.api("stopCapture", {"appId": ACME, "channelId": "room1"}, TOKEN), 1001008,
                "stopCapture of a whole channel with nothing running: 1001008")
    expect_code(A.api("stopCapture", {"appId": ACME, "recordingId": "", "channelId": ""}, TOKEN), 1001001,
                "stopCapture with neither: 1001001", field="channelId")
    expect_code(A.api("stopCapture", {"appId": ACME, "recordingId": "12a"}, TOKEN), 1001001,
                "stopCapture bad recordingId: 1001001", field="recordingId")
    expect_code(A.api("stopCapture", {"appId": ACME, "recordingId": 1.5}, TOKEN), 1001001,
                "stopCapture fractional recordingId: 1001001", field="recordingId")
    expect_code(A.api("stopCapture", {"recordingId": "1"}, TOKEN), 1001001, "stopCapture without appId: 1001001",
                field="appId")

    expect_code(A.api("releaseRoom", {"appId": ACME, "channelId": "235093110714437"}, TOKEN), 1001009,
                "releaseRoom of a room nobody is in: 1001009 ROOM_NOT_FOUND")
    expect_code(A.api("releaseRoom", {"appId": ACME}, TOKEN), 1001001, "releaseRoom without channelId: 1001001",
                field="channelId")
    expect_code(A.api("releaseUser", {"appId": ACME, "channelId": "235093110714437", "userId": "test"}, TOKEN),
                1001010, "releaseUser of a user in no room: 1001010 USER_NOT_FOUND")
    expect_code(A.api("releaseUser", {"appId": ACME, "channelId": "c", "userId": "no spaces"}, TOKEN), 1001001,
                "releaseUser bad userId: 1001001", field="userId")


test_capture()


# ---------------------------------------------------------------- demo token
def verify_join_token(sig_text, access_key):
    raw = base64.b64decode(sig_text).decode()
    body, sig = raw.rsplit("@#@", 1)
    p = json.loads(body)
    want, _ = jointoken_vectors.generate_response_body_signature(access_key, p)
    return hmac.compare_digest(want, sig), p


def test_demo_token():
    rc, out = A.cli("app", "list", "--show-secrets")
    demo = [a for a in json.loads(out) if a["name"] == "demo"][0]
    r = A.post("/demo/token", {"channelId": "room1", "userId": "alice"})
    j = r.json or {}
    t.ok(r.status == 200 and sorted(j) == ["appId", "channelId", "ctime", "host", "port", "role", "signature",
                                           "userId"], "/demo/token answers the token object", r)
    good, p = verify_join_token(j.get("signature", ""), demo["accessKey"])
    t.ok(good and p["appId"] == demo["appId"] and p["channelId"] == "room1" and p["userId"] == "alice"
         and p["role"] == "1" and p["host"] == "127.0.0.1", "the signature verifies with the demo app's accessKey", p)
    t.ok(abs(j.get("ctime", 0) - time.time()) < 60 and abs(p["timeStamp"] / 1000 - time.time()) < 60,
         "ctime (s) and timeStamp (ms) are now")
    demo_tok = A.rest_token(demo["appId"], demo["appToken"]).json["access_token"]
    ep = A.api("getMediaEndpoint", {"channelIds": ["room1"]}, demo_tok).json["data"]["list"][0]
    t.ok(str(j.get("port")) == ep["port"] and p["port"] == ep["port"],
         "the token's port is getMediaEndpoint's port for that channel (%s)" % ep["port"])
    rc, cli_out = A.cli("token", demo["appId"], "room1", "alice")
    t.ok(rc == 0 and json.loads(cli_out)["port"] == j.get("port"), "and `irtcd token` agrees (shared code)")
    r = A.post("/demo/token", {"channelId": "room1", "userId": "bob", "role": 0})
    t.ok(r.status == 200 and r.json["role"] == 0 and verify_join_token(r.json["signature"], demo["accessKey"])[1]["role"]
         == "0", "role 0 (publisher)")
    for body, field in [({"userId": "a"}, "channelId"), ({"channelId": "bad id", "userId": "a"}, "channelId"),
                        ({"channelId": "r", "userId": "u" * 65}, "userId"), ({"channelId": "r"}, "userId"),
                        ({"channelId": "r", "userId": "a", "role": 2}, "role")]:
        expect_code(A.post("/demo/token", body), 1001001, "/demo/token %s: 400 1001001" % json.dumps(body)[:40],
                    status=400, field=field)
    expect_code(A.post("/demo/token", "{", content_type="application/json"), 1001002, "/demo/token bad JSON: 400",
                status=400)
    expect_code(A.post("/demo/token", "x", content_type="text/plain"), 1001003, "/demo/token text/plain: 415",
                status=415)
    expect_code(A.request("GET", "/demo/token"), 1001005, "/demo/token GET: 405", status=405)


test_demo_token()


# ---------------------------------------------------------------- expiry and restart
def test_expiry_and_restart():
    now_ms = int(time.time() * 1000)
    db_exec(A.db, "UPDATE rest_tokens SET expires_at_ms = ? WHERE app_id = ?", (now_ms - 1, OTHER))
    r = A.api("checkRtcHeath", {"version": "V1"}, OTHER_TOKEN)
    t.ok(r.status == 401 and r.json == UNAUTHORIZED, "an expired token: 401", r)
    r = A.rest_token(OTHER, other["appToken"])
    fresh = r.json.get("access_token")
    t.ok(fresh and fresh != OTHER_TOKEN and r.json.get("expires_in") == 1199, "after expiry a new token is issued", r)
    t.ok(envelope_ok(A.api("checkRtcHeath", {"version": "V1"}, fresh)), "the new token works")

    before = A.rest_token(ACME, acme["appToken"]).json
    t.eq(A.stop(), 0, "daemon A stops cleanly")
    t.ok(A.start(), "daemon A restarts on the same data")
    t.ok(envelope_ok(A.api("checkRtcHeath", {"version": "V1"}, TOKEN)), "the token from before the restart still works")
    after = A.rest_token(ACME, acme["appToken"]).json
    t.ok(after.get("access_token") == TOKEN == before.get("access_token")
         and after.get("expires_in", 9999) <= before.get("expires_in", 0),
         "rest_token returns the same token after the restart", after)
    r = query(ruleId=RULE_ID)
    t.ok(envelope_ok(r) and len(r.json["data"]["list"]) == 1, "rules survive the restart")
    with open(A.log, "rb") as f:
        log = f.read()
    t.ok(TOKEN.encode() not in log and acme["appToken"].encode() not in log, "no token or appToken in the log")
    t.eq(A.stop(), 0, "daemon A stops cleanly again")


test_expiry_and_restart()


# ---------------------------------------------------------------- daemon B: rate limits, demo off
def test_rate_limits():
    B = Daemon("limits", server_yaml="  demo_token: false\n", extra_yaml="limits:\n  api_calls_per_minute: 3\n")
    if not t.ok(B.start(), "daemon B (3 calls per minute, demo off) starts"):
        return
    x = B.create_app("x")
    y = B.create_app("y")
    tx = B.rest_token(x["appId"], x["appToken"]).json["access_token"]
    ty = B.rest_token(y["appId"], y["appToken"]).json["access_token"]
    codes = [code_of(B.api("checkRtcHeath", {"version": "V1"}, tx)) for _ in range(3)]
    t.eq(codes, ["0", "0", "0"], "three calls within the limit succeed")
    r = B.api("checkRtcHeath", {"version": "V1"}, tx)
    expect_code(r, 1001029, "the fourth call: 429 with the envelope, 1001029", status=429)
    ra = r.headers.get("retry-after", "")
    t.ok(ra.isdigit() and 1 <= int(ra) <= 20, "Retry-After in seconds (%r; 60 s / 3 = 20 at most)" % ra)
    t.ok("checkRtcHeath" in r.json.get("errorDetail", ""), "errorDetail names the API", r)
    t.ok(envelope_ok(B.api("getMediaEndpoint", {"channelIds": ["a"]}, tx)), "another API of the same app still works")
    t.ok(envelope_ok(B.api("checkRtcHeath", {"version": "V1"}, ty)), "the same API of another app still works")
    bad = [code_of(B.api("addRule", {"appId": x["appId"]}, tx)) for _ in range(4)]
    t.eq(bad, ["1001001", "1001001", "1001001", "1001029"], "invalid calls count too")
    codes = [B.rest_token(x["appId"], x["appToken"]).status for _ in range(3)]
    t.eq(codes, [200, 200, 429], "rest_token is limited per app too (1 earlier + 2, then 429)")
    z = B.create_app("z")
    known = [B.rest_token(z["appId"], "wrong").status for _ in range(4)]
    unknown = [B.rest_token("NoSuchAppZ", "wrong").status for _ in range(4)]
    t.eq(unknown, known, "an unknown appId is rate-limited like a known one (no 429 tells them apart)")
    r = B.rest_token(x["appId"], x["appToken"])
    t.ok(r.status == 429 and r.json.get("error") == "too_many_requests" and r.headers.get("retry-after", "").isdigit(),
         "rest_token's 429 has the OAuth error shape and Retry-After", r)
    r = B.post("/demo/token", {"channelId": "r", "userId": "u"})
    t.ok(r.status == 404, "/demo/token is 404 when server.demo_token is false", r)
    t.eq(B.stop(), 0, "daemon B stops cleanly")


test_rate_limits()

sys.exit(t.done())
