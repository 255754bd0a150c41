#!/usr/bin/env python3
"""Recording-callback test vectors, computed independently of the C code.

The access guide (sections 8.5.4 and 8.5.5) gives the callback bodies by
example and the X-HW-SIGN header as HmacSHA256(appId + appKey + channelId +
userId + extraData + authTimestamp); the contract (CONTRACT.md section 4) decides that
the key and appKey are both the app's accessKey, the digest is Base64 and
authTimestamp is decimal UNIX seconds.  This script writes that down with
hmac/hashlib/base64/json only, so tests/unit/test_callback.c can check
src/callback/callback.c byte for byte.  Prints tests/vectors/callback_vectors.txt;
check_vectors.sh verifies the checked-in copy is exactly this output:

    python3 tests/vectors/callback_vectors.py > tests/vectors/callback_vectors.txt

Output format: '#' starts a comment line; every other line is one vector, a
JSON object (so any byte of extraData survives).  "body" is the exact request
body the C code must produce and "signature" the X-HW-SIGN value.
"""

import base64
import hashlib
import hmac
import json
import sys

# Field order of the guide's request examples (8.5.4, 8.5.5).
VIDEO_FIELDS = ["channelId", "appId", "recordingId", "userId", "extraData", "authTimestamp",
                "fileId", "filePath", "fileName"]
IMAGE_FIELDS = ["channelId", "appId", "recordingId", "userId", "extraData", "imageData",
                "authTimestamp", "filePath"]


def sign(access_key, app_id, channel_id, user_id, extra_data, auth_ts):
    # appKey in the message is the accessKey too (CONTRACT.md decision).
    message = app_id + access_key + channel_id + user_id + extra_data + str(auth_ts)
    digest = hmac.new(access_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii"), message


def body(v):
    # Every field is a JSON string (the guide's tables say String), fields
    # that do not apply are "" as in the guide's examples.
    fields = dict(v)
    fields["authTimestamp"] = str(v["authTimestamp"])
    if v["kind"] == "image":
        image = bytes.fromhex(v.get("imageHex", ""))
        fields["imageData"] = base64.b64encode(image).decode("ascii")
        order = IMAGE_FIELDS
    else:
        order = VIDEO_FIELDS
    obj = {k: fields.get(k, "") for k in order}
    # Compact, UTF-8 as is: the C writer escapes only '"', '\\' and bytes < 0x20.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


KEY = "Q2hhbmdlTWVQbGVhc2VBbmRLZWVwU2VjcmV0WmXW2UKSU0="
APP = "sdcpfWqMcMGJH5lkiEjCfpGtMzlZPM0T"

VECTORS = [
    # The guide's 8.5.4 example (its appId is masked there, so ours), NAS video.
    {"name": "guide-video-nas", "kind": "video", "accessKey": KEY, "appId": APP, "channelId": "23198805",
     "recordingId": "202212311431169569", "userId": "444444", "extraData": "", "authTimestamp": 1592639100,
     "fileId": "", "filePath": "/saas/application/ys.mp4", "fileName": "ys.mp4"},
    # Storage ISDP: fileId instead of a path.
    {"name": "video-isdp", "kind": "video", "accessKey": KEY, "appId": APP, "channelId": "room-1",
     "recordingId": "202401020304050607", "userId": "cam_01-front", "extraData": "order=77&site=3",
     "authTimestamp": 1704164645, "fileId": "202401020304050607", "filePath": "", "fileName": ""},
    # Mixed recording without a userId: the signed string simply has nothing there.
    {"name": "video-no-user", "kind": "video", "accessKey": "k", "appId": "App42", "channelId": "c",
     "recordingId": "1", "userId": "", "extraData": "", "authTimestamp": 0,
     "fileId": "", "filePath": "/nas/a b/\u5f55\u50cf.mp4", "fileName": "\u5f55\u50cf.mp4"},
    # extraData with everything JSON must escape, and non-ASCII text.
    {"name": "extra-data-escapes", "kind": "video", "accessKey": KEY, "appId": APP, "channelId": "ch",
     "recordingId": "202212311431169569", "userId": "u",
     "extraData": "{\"k\":\"v\\\\w\"}\n\r\t\b\f\x01\x1f/\u00e9\u4e2d\U0001f600\x7f",
     "authTimestamp": 1700000000, "fileId": "", "filePath": "/p.mp4", "fileName": "p.mp4"},
    # The contract's largest extraData (1000 bytes) and a 64-character ids.
    {"name": "extra-data-1000", "kind": "video", "accessKey": "0123456789abcdef" * 4, "appId": "A1b2" * 8,
     "channelId": "c-" * 32, "recordingId": "9" * 18, "userId": "u" * 63 + "Z", "extraData": "x" * 1000,
     "authTimestamp": 4102444800, "fileId": "", "filePath": "/n/f.mp4", "fileName": "f.mp4"},
    # Non-ASCII accessKey: HMAC over its UTF-8 bytes.
    {"name": "utf8-access-key", "kind": "video", "accessKey": "cl\u00e9-secr\u00e8te-\u4e2d\u6587", "appId": "Z",
     "channelId": "9", "recordingId": "2", "userId": "bob", "extraData": "\u00fc", "authTimestamp": 1,
     "fileId": "", "filePath": "/x.mp4", "fileName": "x.mp4"},
    # Snapshot, storage ISDP: the picture's bytes Base64'd into imageData.
    {"name": "image-isdp", "kind": "image", "accessKey": KEY, "appId": APP, "channelId": "23198805",
     "recordingId": "202212311431169570", "userId": "444444", "extraData": "shot",
     "authTimestamp": 1644133665, "imageHex": "ffd8ffe000104a46494600010100000100010000ffd9", "filePath": ""},
    # Snapshot, storage ISDP, 1..3 bytes: Base64 padding.
    {"name": "image-isdp-padding", "kind": "image", "accessKey": "k", "appId": "a", "channelId": "c",
     "recordingId": "3", "userId": "u", "extraData": "", "authTimestamp": 2, "imageHex": "ff", "filePath": ""},
    # Snapshot, storage NAS: a path and no imageData.
    {"name": "image-nas", "kind": "image", "accessKey": KEY, "appId": APP, "channelId": "23198805",
     "recordingId": "202212311431169571", "userId": "444444", "extraData": "",
     "authTimestamp": 1644133665, "imageHex": "", "filePath": "/saas/application/ys.jpg"},
]


def main():
    out = ["# callback_vectors.txt: generated by tests/vectors/callback_vectors.py; do not edit.",
           "# One JSON object per line: the inputs, the signed message, X-HW-SIGN and the exact body."]
    for v in VECTORS:
        signature, message = sign(v["accessKey"], v["appId"], v["channelId"], v["userId"], v["extraData"],
                                  v["authTimestamp"])
        b = body(v)
        # Self-checks: the body parses back to the inputs in the guide's order.
        parsed = json.loads(b)
        assert list(parsed) == (IMAGE_FIELDS if v["kind"] == "image" else VIDEO_FIELDS)
        assert parsed["extraData"] == v["extraData"] and parsed["authTimestamp"] == str(v["authTimestamp"])
        rec = dict(v)
        rec.update({"message": message, "signature": signature, "body": b})
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    # Bytes, not print(): the output must not depend on the locale.
    sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
