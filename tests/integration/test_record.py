#!/usr/bin/python3
"""test_record.py — recording through the REST API with real WebRTC peers:
aiortc (Debian's python3-aiortc 1.4) publishes audio + VP8 through
/v1/signal into the built irtcd, and the REST calls record it.  The files
are checked with ffprobe / ffmpeg, the rows in SQLite and through
queryRecordingList.  Prints TAP; skips (1..0) without aiortc or ffprobe.

Covers: captureVideo mode 0 (the user's video, everyone's audio), stopCapture
by id (and again: already ended), captureImage to ISDP (no file, bytes in the
row), the refusals (1001009 room / user, 1001012 disabled rule, 1001008), a
recording that follows its user through unpublish and re-publish and ends
with releaseRoom, auto-record (startAutoRecord records a room from its first
publish, once; mode 1; stopAutoRecord starts no new ones, the running one
ends when its room empties), queryRecordingList, checkRtcHeath, the signed
callbacks a local receiver gets (video: filePath/fileName; ISDP snapshots:
imageData; X-HW-SIGN checked here with hmac), and a recording interrupted by
kill -9 marked failed at the next start.  Every wait
is bounded; the whole runs in about a minute."""

import asyncio
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
try:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
except ImportError:
    print("1..0 # SKIP python3-aiortc is not installed")
    sys.exit(0)
if shutil.which("ffprobe") is None:
    print("1..0 # SKIP ffprobe (ffmpeg) is not installed")
    sys.exit(0)
import irtctest  # noqa: E402
import test_signal as ts  # noqa: E402  (its signaling Peer)

aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]
T = irtctest.Tap()
ok = T.ok


class Receiver:
    """The integrator's callback endpoint: keeps every POST, answers 200."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recv.lock:
                    recv.posts.append({"path": self.path, "sign": self.headers.get("X-HW-SIGN"), "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self, path):
        with self.lock:
            return [(json.loads(p["body"]), p["sign"]) for p in self.posts if p["path"] == path]


RECV = Receiver()


def signed(d, body, sign):
    """X-HW-SIGN = Base64(HMAC-SHA256(accessKey, appId + accessKey + channelId + userId + extraData + authTimestamp))."""
    msg = d.app_id + d.access_key + body["channelId"] + body["userId"] + body["extraData"] + body["authTimestamp"]
    want = base64.b64encode(hmac.new(d.access_key.encode(), msg.encode(), hashlib.sha256).digest()).decode()
    return sign == want


class Daemon(irtctest.Daemon):
    """irtcd with the demo app (join tokens from `irtcd token`) and a NAS directory."""

    def __init__(self):
        super().__init__("record", "  demo_token: true\n")
        os.makedirs(self.nas)
        self.port = self.https_port
        self.started = self.start()
        demo = [a for a in json.loads(self.cli("app", "list", "--show-secrets")[1]) if a["name"] == "demo"][0]
        self.app_id, self.app_token, self.access_key = demo["appId"], demo["appToken"], demo["accessKey"]
        self.tenant = demo.get("tenantId", "")
        self.rest = self.rest_token(self.app_id, self.app_token).json["access_token"]

    def token(self, channel, user, role=1):
        """Made here, as ts.Daemon.token does (a command is slow under load
        while a socket idles)."""
        params = {"userId": user, "channelId": channel, "host": "127.0.0.1", "port": str(self.room_media_port(channel)),
                  "role": str(role), "tenantId": self.tenant, "appId": self.app_id, "timeStamp": int(time.time() * 1000)}
        return ts.get_token(self.access_key, params)[0]

    def call(self, name, **body):
        body.setdefault("appId", self.app_id)
        return self.api(name, body, self.rest).json

    def row(self, recording_id):
        conn = sqlite3.connect(self.db, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            r = conn.execute("SELECT * FROM recordings WHERE recording_id = ?", (recording_id,)).fetchone()
            return dict(r) if r else None
        finally:
            conn.close()

    def rows(self, channel):
        conn = sqlite3.connect(self.db, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM recordings WHERE channel_id = ?", (channel,))]
        finally:
            conn.close()


def code(resp):
    return resp.get("errorCode") if isinstance(resp, dict) else None


# `ffmpeg -v error -i FILE -f null -` gives the null muxer frame times in
# 1/r_frame_rate, a rate guessed from the first frames; with WebRTC's variable
# frame rate two frames can round to one tick, reported as "non monotonically
# increasing dts to muxer" — a property of that check, not of the file.  So: no
# other message from the exact command, and none at all when the frames keep
# the file's own time base (-enc_time_base:v -1).  tests/e2e/test_record.js too.
NULL_MUXER_VFR = "Application provided invalid, non monotonically increasing dts to muxer"


def probe(path):
    """{'video': stream, 'audio': stream, 'duration': s, 'errors': decode errors} of a media file."""
    p = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                       capture_output=True, timeout=30)
    info = json.loads(p.stdout or b"{}")
    out = {"duration": float(info.get("format", {}).get("duration", 0)), "probe_errors": p.stderr.decode()}
    for s in info.get("streams", []):
        out.setdefault(s["codec_type"], s)
    d = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, timeout=60)
    other, notice = [], False
    for line in d.stderr.decode().splitlines():
        if "Last message repeated" not in line:  # belongs to the line before
            notice = NULL_MUXER_VFR in line
        if not notice and line.strip():
            other.append(line)
    e = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-enc_time_base:v", "-1", "-f", "null", "-"],
                       capture_output=True, timeout=60)
    out["errors"] = "\n".join(other + e.stderr.decode().splitlines()).strip()
    return out


class Call:
    """One signaling peer publishing with aiortc."""

    def __init__(self, d, channel, user):
        self.peer = ts.Peer(d)
        self.user = user
        self.joined = ts.is_ok(self.peer.join(channel, user))
        self.pc = None
        self.stream_id = None

    async def publish(self, audio=True, video=True):
        self.pc = RTCPeerConnection()
        if audio:
            self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        if video:
            self.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        r = self.peer.request("publish", sdp=self.pc.localDescription.sdp, audio=audio, video=video)
        if not ts.is_ok(r):
            return False
        self.stream_id = r["data"]["streamId"]
        await self.pc.setRemoteDescription(RTCSessionDescription(r["data"]["sdp"], "answer"))
        return True

    async def unpublish(self):
        r = self.peer.request("unpublish", streamId=self.stream_id)
        await self.pc.close()
        self.pc = None
        return ts.is_ok(r)

    async def leave(self):
        r = self.peer.request("leave")
        if self.pc is not None:
            await self.pc.close()
        self.peer.close()
        return ts.is_ok(r)


CALLS = []


async def pump(seconds):
    """Lets aiortc run while the signaling sockets are read and kept alive."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.1)
        for c in CALLS:
            if not c.peer.closed:
                c.peer.keepalive()
                c.peer._read(0.002)


async def until(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        await pump(0.2)
    return cond()


async def join(d, channel, user, **kinds):
    c = Call(d, channel, user)
    CALLS.append(c)
    published = c.joined and await c.publish(**kinds)
    ok(published, "%s joins %s and publishes %s" % (user, channel, "+".join(k for k in ("audio", "video")
                                                                            if kinds.get(k, True))))
    return c


async def connected(*calls):
    return await until(lambda: all(c.pc is not None and c.pc.connectionState == "connected" for c in calls), 10)


def done_row(d, rid):
    r = d.row(rid)
    return r if r and r["status"] != 0 else None


async def finished(d, rid, seconds=10):
    await until(lambda: done_row(d, rid) is not None, seconds)
    return d.row(rid)


def check_file(row, want_w, want_h, wall_s, what):
    """The row's MP4: H.264 of want_w x want_h, AAC, duration within 1 s of the wall time, decodes cleanly."""
    path = row["path"] if row else ""
    if not ok(row and row["status"] == 1 and os.path.isfile(path), "%s: row complete, file %s" % (what, path), row):
        return
    p = probe(path)
    v, a = p.get("video", {}), p.get("audio", {})
    ok(v.get("codec_name") == "h264" and (v.get("width"), v.get("height")) == (want_w, want_h),
       "%s: h264 %dx%d (ffprobe: %s %sx%s)" % (what, want_w, want_h, v.get("codec_name"), v.get("width"),
                                               v.get("height")))
    ok(a.get("codec_name") == "aac" and a.get("sample_rate") == "48000",
       "%s: aac 48 kHz audio (ffprobe: %s %s)" % (what, a.get("codec_name"), a.get("sample_rate")))
    ok(abs(p["duration"] - wall_s) <= 1.0,
       "%s: duration %.2f s, wall time %.2f s (within 1 s)" % (what, p["duration"], wall_s))
    ok(p["errors"] == "" and p["probe_errors"] == "", "%s: ffmpeg decodes it without an error" % what,
       p["errors"] + p["probe_errors"])
    ok(row["bytes"] == os.path.getsize(path) and abs(row["duration_ms"] / 1000 - p["duration"]) <= 0.5,
       "%s: the row's bytes (%d) and duration (%d ms) are the file's" % (what, row["bytes"], row["duration_ms"]))


def add_rule(d, **kw):
    body = dict(storageType="NAS", recordPath="/rec/{app_id}/{date_time}/", fileName="{channel_id}_{file_start_time}",
                recordingType=0, recordingModel=0, callbackUrl=RECV.url + "/rule", status=True)
    body.update(kw)
    r = d.call("addRule", **body)
    return str(r["data"]["recordRuleId"]) if code(r) == "0" else None


async def test_manual(d):
    rule0 = add_rule(d, fileName="m0_{channel_id}")
    img = add_rule(d, storageType="ISDP", recordingType=1, fileName="snap", captureInterval=1, captureNums=2)
    off = add_rule(d, status=False)
    alice = await join(d, "py1", "alice")
    bob = await join(d, "py1", "bob", video=False)
    ok(await connected(alice, bob), "both publishers connected (ICE + DTLS)")

    ok(code(d.call("captureVideo", channelId="py1", userId="carol", recordRuleId=rule0)) == "1001009",
       "captureVideo of a user not in the room: 1001009")
    ok(code(d.call("captureVideo", channelId="nobody", userId="alice", recordRuleId=rule0)) == "1001009",
       "captureVideo in a room nobody is in: 1001009")
    r = d.call("captureVideo", channelId="py1", userId="alice", recordRuleId=off)
    ok(code(r) == "1001012" and "disabled" in r["errorDetail"], "captureVideo with a disabled rule: 1001012", r)

    t0 = time.monotonic()
    r = d.call("captureVideo", channelId="py1", userId="alice", recordRuleId=rule0, extraData="x1",
               callbackUrl=RECV.url + "/video")
    rid = r["data"]["recordingId"] if code(r) == "0" else ""
    ok(rid.isdigit() and len(rid) == 18, "captureVideo mode 0: recordingId %s" % rid, r)
    r = d.call("captureImage", channelId="py1", userId="alice", recordRuleId=img)
    img_id = r["data"]["recordingId"] if code(r) == "0" else ""
    ok(img_id.isdigit(), "captureImage (ISDP, 2 pictures 1 s apart): recordingId %s" % img_id, r)
    row = d.row(rid)
    ok(row and row["status"] == 0 and row["user_id"] == "alice" and row["mode"] == 0 and row["extra_data"] == "x1",
       "the row exists at once: status recording, alice, mode 0, extraData", row)
    await pump(5)
    r = d.call("stopCapture", recordingId=rid, channelId="")
    wall = time.monotonic() - t0
    ok(code(r) == "0", "stopCapture by recordingId", r)
    row = await finished(d, rid)
    ok(row["path"].startswith(os.path.join(d.nas, "rec", d.app_id)) and row["path"].endswith("/m0_py1.mp4"),
       "the file is at base + recordPath (variables filled) + fileName.mp4: %s" % row["path"])
    check_file(row, 640, 480, wall, "mode 0")
    ok(code(d.call("stopCapture", recordingId=rid)) == "0", "stopCapture again: it has ended, success")
    ok(code(d.call("stopCapture", recordingId="123456789012345678")) == "1001008", "stopCapture unknown id: 1001008")
    irow = await finished(d, img_id)
    ok(irow and irow["status"] == 1 and irow["path"] == "" and irow["bytes"] > 1000 and irow["kind"] == 1,
       "captureImage ISDP: complete, no file written, %s JPEG bytes counted" % (irow or {}).get("bytes"), irow)

    # The callbacks, as the integrator's endpoint gets them.
    await until(lambda: len(RECV.bodies("/video")) >= 1 and len(RECV.bodies("/rule")) >= 2, 10)
    video = RECV.bodies("/video")
    b, sign = video[0] if video else ({}, None)
    ok(len(video) == 1 and b.get("recordingId") == rid and b.get("userId") == "alice" and b.get("extraData") == "x1"
       and b.get("channelId") == "py1" and b.get("appId") == d.app_id and b.get("filePath") == row["path"]
       and b.get("fileName") == "m0_py1.mp4" and b.get("fileId") == "" and b.get("authTimestamp", "").isdigit(),
       "video callback to the request's callbackUrl: recordingId, userId, extraData, filePath, fileName", b)
    ok(sign is not None and signed(d, b, sign), "its X-HW-SIGN is the HMAC of the contract (accessKey)", sign)
    snaps = [(x, sg) for x, sg in RECV.bodies("/rule") if x.get("recordingId") == img_id]
    jpegs = [base64.b64decode(x.get("imageData", "")) for x, _ in snaps]
    ok(len(snaps) == 2 and all(j[:2] == b"\xff\xd8" for j in jpegs) and sum(map(len, jpegs)) == irow["bytes"]
       and all(x["filePath"] == "" and x["extraData"] == "" for x, _ in snaps),
       "2 snapshot callbacks to the rule's callbackUrl, imageData = the JPEGs (Base64), %d bytes" % sum(map(len, jpegs)))
    ok(all(signed(d, x, sg) for x, sg in snaps), "each signed")
    ok(code(d.call("stopCapture", channelId="py1")) == "1001008", "stopCapture of a channel with nothing running: 1001008")

    # Guide table 8.5.1-2: "ISDP：默认值，…使用ISDP提供的文件存储服务" — an ISDP video
    # is downloaded with its fileId (GET files/{fileId}, ours), Range included.
    isdp = add_rule(d, storageType=None, fileName="dl")  # storageType left out: ISDP by default
    r = d.call("captureVideo", channelId="py1", userId="alice", recordRuleId=isdp)
    vid = r["data"]["recordingId"] if code(r) == "0" else ""
    await pump(3)
    d.call("stopCapture", recordingId=vid)
    vrow = await finished(d, vid)
    vpath = (vrow or {}).get("path") or ""
    ok(vrow and vrow["status"] == 1 and vpath.startswith(os.path.join(d.dir, "var", "isdp") + "/") and
       os.path.isfile(vpath), "an ISDP video (storageType defaulted): complete under data_dir/isdp", vrow)
    url = "/openapi/v1/rtcLive/files/" + vid
    auth = {"Authorization": "bearer " + d.rest}
    whole = d.request("GET", url, headers=auth)
    data = open(vpath, "rb").read() if os.path.isfile(vpath) else b""
    ok(whole.status == 200 and whole.body == data and len(data) > 1000
       and whole.headers.get("content-type") == "video/mp4",
       "GET files/{fileId} with the app's token: 200, the file's %d bytes, video/mp4" % len(data), whole)
    part = d.request("GET", url, headers=dict(auth, Range="bytes=100-1123"))
    ok(part.status == 206 and part.body == data[100:1124]
       and part.headers.get("content-range") == "bytes 100-1123/%d" % len(data),
       "a Range request: 206 with those 1024 bytes and Content-Range", part)
    tail = d.request("GET", url, headers=dict(auth, Range="bytes=-10"))
    ok(tail.status == 206 and tail.body == data[-10:], "Range bytes=-10: the last 10 bytes", tail)
    r = d.request("GET", url, headers=dict(auth, Range="bytes=%d-" % len(data)))
    ok(r.status == 416 and r.headers.get("content-range") == "bytes */%d" % len(data)
       and r.json.get("errorCode") == "1001033" and r.json.get("error") == "range_not_satisfiable",
       "a Range past the end: 416 RANGE_NOT_SATISFIABLE with Content-Range bytes */size", r)
    r = d.request("HEAD", url, headers=auth)
    ok(r.status == 200 and r.body == b"" and r.headers.get("content-length") == str(len(data)),
       "HEAD: the headers (Content-Length %d), no body" % len(data), r)
    other = d.create_app("other-app")
    other_tok = d.rest_token(other["appId"], other["appToken"]).json["access_token"]
    r = d.request("GET", url, headers={"Authorization": "bearer " + other_tok})
    ok(r.status == 404 and r.json.get("errorCode") == "1001032" and r.json.get("error") == "not_found",
       "another app's token: 404 FILE_NOT_FOUND, as if it did not exist", r)
    r = d.request("GET", url)
    ok(r.status == 401 and r.json == {"error": "invalid_token", "error_description": "check_token error"},
       "no token: the gateway's 401", r)
    r = d.request("GET", "/openapi/v1/rtcLive/files/" + rid, headers=auth)
    ok(r.status == 404 and "NAS" in r.json.get("errorDetail", ""), "a NAS recording: 404, not downloadable here", r)

    # A recording follows its user: unpublish and publish again, then releaseRoom ends it.
    t0 = time.monotonic()
    r = d.call("captureVideo", channelId="py1", userId="alice", recordRuleId=rule0, fileName="follow")
    rid2 = r["data"]["recordingId"] if code(r) == "0" else ""
    ok(rid2 != "", "captureVideo again (fileName from the request)", r)
    await pump(2)
    ok(await alice.unpublish(), "alice unpublishes during the recording")
    await pump(1)
    ok(await alice.publish() and await connected(alice), "alice publishes again")
    await pump(2.5)
    ok(d.row(rid2)["status"] == 0, "the recording is still running")
    r = d.call("releaseRoom", channelId="py1")
    wall = time.monotonic() - t0
    ok(code(r) == "0", "releaseRoom", r)
    row = await finished(d, rid2)
    ok(row and row["path"].endswith("/follow.mp4"), "releaseRoom ended the recording (its room closed)", row)
    check_file(row, 640, 480, wall, "through unpublish and re-publish")
    for c in (alice, bob):
        CALLS.remove(c)
        if c.pc is not None:
            await c.pc.close()
        c.peer.close()


async def test_auto(d):
    rule = add_rule(d, recordingModel=1, fileName="auto_{channel_id}")
    r = d.call("startAutoRecord", recordRuleId=rule)
    ok(code(r) == "0", "startAutoRecord of a mixed (mode 1) rule", r)
    carol = await join(d, "py2", "carol")
    ok(await until(lambda: len(d.rows("py2")) == 1, 3), "the room's first publish starts a recording")
    ok(await connected(carol), "carol connected: media flows")
    t0 = time.monotonic()  # the file starts with carol's first keyframe
    row = d.rows("py2")[0] if d.rows("py2") else {}
    ok(row.get("user_id") == "carol" and row.get("mode") == 1 and str(row.get("rule_id")) == rule,
       "by that rule, with the first publisher as the main user", row)
    dave = await join(d, "py2", "dave")
    ok(await connected(dave), "dave connected")
    await pump(2)
    ok(len(d.rows("py2")) == 1, "a second publisher starts no second recording")
    ok(code(d.call("stopAutoRecord", recordRuleId=rule)) == "0", "stopAutoRecord")
    await pump(2)
    ok(d.rows("py2")[0]["status"] == 0, "the running recording goes on after stopAutoRecord")
    erin = await join(d, "py3", "erin", audio=False)
    await pump(1.5)
    ok(d.rows("py3") == [], "after stopAutoRecord a new room is not recorded")
    ok(await carol.leave(), "carol leaves")
    await pump(1)
    ok(d.rows("py2")[0]["status"] == 0, "the room is not empty yet: still recording")
    ok(await dave.leave(), "dave leaves: the room empties")
    wall = time.monotonic() - t0
    for c in (carol, dave):
        CALLS.remove(c)
    row = await finished(d, d.rows("py2")[0]["recording_id"])
    check_file(row, 1280, 720, wall, "auto-record, mode 1 (canvas)")
    ok(await erin.leave(), "erin leaves")
    CALLS.remove(erin)

    r = d.call("queryRecordingList", pageSize=2, pageNo=1)
    data = r.get("data") or {}
    lst = data.get("list", [])
    ok(code(r) == "0" and data.get("totalCount") == 5 and len(lst) == 2 and data.get("pos") == 1,
       "queryRecordingList: 5 recordings, a page of 2", r)
    ok(lst and lst[0]["channelId"] == "py2" and lst[0]["status"] == "complete" and lst[0]["durationMs"] > 1000
       and lst[0]["bytes"] > 10000 and lst[0]["recordingModel"] == 1 and lst[0]["endedAt"] is not None
       and lst[0]["failureReason"] is None, "newest first, with status, bytes, duration and times", lst[:1])
    r = d.call("queryRecordingList", channelId="py1")
    ok(code(r) == "0" and r["data"]["totalCount"] == 4 and {x["userId"] for x in r["data"]["list"]} == {"alice"},
       "filtered by channelId", r)
    ok(code(d.call("queryRecordingList", pageSize=101)) == "1001001", "pageSize over 100: 1001001")
    r = d.call("checkRtcHeath", version="V1")
    ok(code(r) == "0" and r["data"] == "OK", "checkRtcHeath: OK (media workers and recorder threads answer)", r)
    # /metrics (issue 16): recordings by mode and outcome, bytes, ring drops.
    body = d.request("GET", "/metrics").body.decode()
    m = dict((l.rsplit(" ", 1)[0], float(l.rsplit(" ", 1)[1])) for l in body.splitlines()
             if l.startswith("irtc_record"))
    total = sum(x["bytes"] for x in d.call("queryRecordingList", pageSize=100)["data"]["list"])
    ok(all(m.get('irtc_recordings_active{mode="%s"}' % k) == 0 for k in ("single", "mixed", "snapshot"))
       and m.get('irtc_recordings_completed_total{mode="single"}', 0) >= 1
       and m.get('irtc_recordings_completed_total{mode="mixed"}', 0) >= 1
       and m.get('irtc_recordings_completed_total{mode="snapshot"}', 0) >= 1
       and m.get("irtc_recording_bytes_total", 0) >= total > 0
       and "irtc_recording_ring_drops_total" in m and 'irtc_recordings_failed_total{cause="storage"}' in m,
       "/metrics: none active now, completed by mode, bytes written (>= the rows' %d), ring drops, failures by cause"
       % total, m)


async def test_restart(d):
    rule = add_rule(d, fileName="crash")
    frank = await join(d, "py4", "frank")
    ok(await connected(frank), "frank connected")
    r = d.call("captureVideo", channelId="py4", userId="frank", recordRuleId=rule)
    rid = r["data"]["recordingId"] if code(r) == "0" else ""
    await until(lambda: (d.row(rid) or {}).get("path", "").endswith("crash.mp4"), 5)
    await pump(2)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    d.proc = None
    CALLS.remove(frank)
    await frank.pc.close()
    frank.peer.close()
    ok(d.row(rid)["status"] == 0, "killed while recording: the row still says recording")
    ok(d.start(), "irtcd starts again")
    row = d.row(rid)
    ok(row["status"] == 2 and row["failure_reason"] == "irtcd restarted" and row["ended_at_ms"] > 0,
       "the next start marks it failed: irtcd restarted", row)


def main():
    d = Daemon()
    ok(d.started, "daemon starts")
    for test in (test_manual, test_auto, test_restart):
        try:
            asyncio.run(asyncio.wait_for(test(d), 60))
        except Exception as e:  # a failure, not a hang
            ok(False, "%s raised %r" % (test.__name__, e))
    ok(d.alive(), "daemon still running")
    ok(d.stop() == 0, "clean stop")
    if T.failed:
        d.dump_log(60)
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
