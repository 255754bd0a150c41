"""oas.py — a small OpenAPI 3.0 checker for tests (no dependency beyond
PyYAML's output): the document's structure (the object kinds of OpenAPI 3.0.3
and the keys each may hold, so a stray key such as one an unquoted comma made
in a YAML flow mapping is found), and a JSON value against one of its Schema
Objects (the subset our document uses: type, nullable, enum, properties,
required, additionalProperties, items, allOf/oneOf/anyOf, $ref, pattern,
minimum/maximum, minItems/maxItems, minLength/maxLength).

Debian 12 has no python3-openapi-spec-validator; test_api_docs.py runs it too
where it is installed (Debian 13)."""

import re

SCHEMA_KEYS = {
    "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
    "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "enum", "type",
    "allOf", "oneOf", "anyOf", "not", "items", "properties", "additionalProperties", "description", "format",
    "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated",
    "$ref",
}
TYPES = {"string", "number", "integer", "boolean", "array", "object"}
OPERATION_KEYS = {"tags", "summary", "description", "externalDocs", "operationId", "parameters", "requestBody",
                  "responses", "callbacks", "deprecated", "security", "servers"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _ext(k):
    return isinstance(k, str) and k.startswith("x-")


def check_schema(s, where, out):
    if not isinstance(s, dict):
        out.append("%s: a schema must be a mapping, not %r" % (where, s))
        return
    for k, v in s.items():
        if k not in SCHEMA_KEYS and not _ext(k):
            out.append("%s: %r is not a Schema Object key (an unquoted comma in a flow mapping?)" % (where, k))
    if "$ref" in s and len(s) > 1:
        out.append("%s: $ref with siblings (ignored by OpenAPI 3.0)" % where)
    for k in ("description", "pattern", "format", "title"):
        if k in s and not isinstance(s[k], str):
            out.append("%s: %s must be a string" % (where, k))
    if "pattern" in s and isinstance(s["pattern"], str):
        try:
            re.compile(s["pattern"])
        except re.error as e:
            out.append("%s: pattern %r: %s" % (where, s["pattern"], e))
    if "type" in s and s["type"] not in TYPES:
        out.append("%s: type %r" % (where, s["type"]))
    if "required" in s and not (isinstance(s["required"], list) and s["required"]
                                and all(isinstance(x, str) for x in s["required"])):
        out.append("%s: required must be a non-empty list of names" % where)
    if "enum" in s and not (isinstance(s["enum"], list) and s["enum"]):
        out.append("%s: enum must be a non-empty list" % where)
    if "nullable" in s and not isinstance(s["nullable"], bool):
        out.append("%s: nullable must be a boolean" % where)
    for k in ("allOf", "oneOf", "anyOf"):
        if k in s:
            if not isinstance(s[k], list) or not s[k]:
                out.append("%s: %s must be a non-empty list" % (where, k))
            else:
                for i, x in enumerate(s[k]):
                    check_schema(x, "%s/%s[%d]" % (where, k, i), out)
    for k in ("items", "not"):
        if k in s:
            check_schema(s[k], "%s/%s" % (where, k), out)
    if isinstance(s.get("additionalProperties"), dict):
        check_schema(s["additionalProperties"], where + "/additionalProperties", out)
    elif "additionalProperties" in s and not isinstance(s["additionalProperties"], bool):
        out.append("%s: additionalProperties must be a boolean or a schema" % where)
    if "properties" in s:
        if not isinstance(s["properties"], dict):
            out.append("%s: properties must be a mapping" % where)
        else:
            for name, p in s["properties"].items():
                check_schema(p, "%s/properties/%s" % (where, name), out)


def _check_content(c, where, out):
    if not isinstance(c, dict) or not c:
        out.append("%s: content must be a non-empty mapping" % where)
        return
    for mt, m in c.items():
        if not isinstance(m, dict) or set(m) - {"schema", "example", "examples", "encoding"}:
            out.append("%s/%s: bad Media Type Object" % (where, mt))
        elif "schema" in m:
            check_schema(m["schema"], "%s/%s/schema" % (where, mt), out)


def _check_response(r, where, out):
    if not isinstance(r, dict):
        out.append("%s: a response must be a mapping" % where)
        return
    if "$ref" in r:
        return
    if not isinstance(r.get("description"), str):
        out.append("%s: description (a string) is required" % where)
    for k in r:
        if k not in ("description", "headers", "content", "links") and not _ext(k):
            out.append("%s: %r is not a Response Object key" % (where, k))
    if "content" in r:
        _check_content(r["content"], where + "/content", out)
    for h, v in (r.get("headers") or {}).items():
        if "schema" in v:
            check_schema(v["schema"], "%s/headers/%s/schema" % (where, h), out)


def check_document(doc):
    """Problems with doc as an OpenAPI 3.0 document (an empty list if none)."""
    out = []
    if not isinstance(doc, dict):
        return ["the document is not a mapping"]
    if not re.match(r"^3\.0\.\d+$", str(doc.get("openapi", ""))):
        out.append("openapi must be 3.0.x (got %r)" % doc.get("openapi"))
    info = doc.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
        out.append("info.title and info.version (strings) are required")
    for k in doc:
        if k not in ("openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs") \
                and not _ext(k):
            out.append("%r is not an OpenAPI Object key" % k)
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return out + ["paths is required"]
    for path, item in paths.items():
        if not path.startswith("/"):
            out.append("path %r must start with /" % path)
        params = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in (item or {}).items():
            where = "paths/%s/%s" % (path, method)
            if method not in METHODS and method not in ("parameters", "summary", "description", "servers"):
                out.append("%s: not a Path Item key" % where)
                continue
            if method not in METHODS:
                continue
            for k in op:
                if k not in OPERATION_KEYS and not _ext(k):
                    out.append("%s: %r is not an Operation Object key" % (where, k))
            declared = set()
            for i, p in enumerate(op.get("parameters") or []):
                if not isinstance(p, dict) or p.get("in") not in ("path", "query", "header", "cookie") \
                        or not isinstance(p.get("name"), str) or "schema" not in p:
                    out.append("%s/parameters[%d]: needs name, in and schema" % (where, i))
                    continue
                check_schema(p["schema"], "%s/parameters[%d]/schema" % (where, i), out)
                if p["in"] == "path":
                    declared.add(p["name"])
                    if p.get("required") is not True:
                        out.append("%s: path parameter %s must be required" % (where, p["name"]))
            if declared != params:
                out.append("%s: path parameters %s declared as %s" % (where, sorted(params), sorted(declared)))
            rb = op.get("requestBody")
            if rb is not None:
                _check_content(rb.get("content"), where + "/requestBody/content", out)
            resp = op.get("responses")
            if not isinstance(resp, dict) or not resp:
                out.append("%s: responses is required" % where)
                continue
            for code, r in resp.items():
                if not (code == "default" or re.match(r"^[1-5](\d\d|XX)$", str(code))):
                    out.append("%s: response key %r" % (where, code))
                _check_response(r, "%s/responses/%s" % (where, code), out)
    comps = doc.get("components") or {}
    for name, s in (comps.get("schemas") or {}).items():
        check_schema(s, "components/schemas/" + name, out)
    for name, r in (comps.get("responses") or {}).items():
        _check_response(r, "components/responses/" + name, out)
    return out


def resolve(doc, s):
    while isinstance(s, dict) and "$ref" in s:
        parts = s["$ref"].lstrip("#/").split("/")
        s = doc
        for p in parts:
            s = s[p]
    return s


def _type_ok(v, t):
    return {"string": isinstance(v, str), "boolean": isinstance(v, bool),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "array": isinstance(v, list), "object": isinstance(v, dict)}[t]


def _known_props(doc, s):
    """Property names a schema (with its allOf branches) declares."""
    s = resolve(doc, s)
    names = set((s.get("properties") or {}).keys())
    for x in s.get("allOf") or []:
        names |= _known_props(doc, x)
    return names


def validate(doc, s, v, where="$", closed=None):
    """Problems with value v against schema s (an empty list if none).
    additionalProperties: false also closes the allOf it sits in."""
    s = resolve(doc, s)
    out = []
    if v is None:
        if s.get("nullable") or ("enum" in s and None in s["enum"]) or not ("type" in s or "enum" in s):
            return out
        return ["%s: null where %s is not nullable" % (where, s.get("type", "an enum"))]
    if "type" in s and not _type_ok(v, s["type"]):
        return ["%s: %r is not of type %s" % (where, v, s["type"])]
    if "enum" in s and v not in s["enum"]:
        out.append("%s: %r not in %s" % (where, v, s["enum"]))
    if isinstance(v, str):
        if "pattern" in s and not re.search(s["pattern"], v):
            out.append("%s: %r does not match %s" % (where, v, s["pattern"]))
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", len(v)):
            out.append("%s: length %d" % (where, len(v)))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if ("minimum" in s and v < s["minimum"]) or ("maximum" in s and v > s["maximum"]):
            out.append("%s: %r out of range" % (where, v))
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", len(v)):
            out.append("%s: %d items" % (where, len(v)))
        if "items" in s:
            for i, x in enumerate(v):
                out += validate(doc, s["items"], x, "%s[%d]" % (where, i))
    if isinstance(v, dict):
        props = s.get("properties") or {}
        for name in s.get("required") or []:
            if name not in v:
                out.append("%s: %s is required" % (where, name))
        for name, x in v.items():
            if name in props:
                out += validate(doc, props[name], x, "%s.%s" % (where, name))
        if s.get("additionalProperties") is False:
            known = closed if closed is not None else _known_props(doc, s)
            extra = sorted(set(v) - known)
            if extra:
                out.append("%s: undocumented fields %s" % (where, extra))
    if "allOf" in s:
        known = _known_props(doc, s)
        for x in s["allOf"]:
            out += validate(doc, x, v, where, known)
    for k in ("oneOf", "anyOf"):
        if k in s:
            fits = [validate(doc, x, v, where) for x in s[k]]
            n = sum(1 for f in fits if not f)
            if n == 0 or (k == "oneOf" and n > 1):
                out.append("%s: matches %d of the %s (%s)" % (where, n, k, "; ".join(f[0] for f in fits if f)))
    return out
