package com.isdp.irtc.test;

import android.content.Context;

import com.isdp.irtc.CreateVideoEngine;
import com.isdp.irtc.EngineType;
import com.isdp.irtc.RemoteVideoStats;
import com.isdp.irtc.RtcEngine;

/**
 * The Java side of tests/e2e/test_android_interop.js: one engine in a room
 * with a Chromium page (Web SDK).  Args: appId info channel userId token
 * peerUserId seconds [codec: VP8 (default) or H264].  Joins, publishes (the built-in test pattern at
 * 320x180 and tone), waits for the page's video, mutes its audio half of
 * the seconds later (the page has heard the tone by then, and then sees
 * mute-audio), stays the given seconds, leaves.  Prints one "EVENT ..."
 * line per callback and a final "FRAMES frames keyframes width height
 * decoded errors" line for the peer; exit 0 unless the engine could not be
 * created.
 */
public final class InteropMain {
    public static void main(String[] a) throws Exception {
        String appId = a[0], info = a[1], channel = a[2], user = a[3], token = a[4], peer = a[5];
        long seconds = Long.parseLong(a[6]);
        Context ctx = new Context() {
        };
        Recorder r = new Recorder();
        RtcEngine e = new CreateVideoEngine().create(ctx, EngineType.ISDP);
        e.createVideo(ctx, appId, r);
        e.resetResolution(320, 180, 15);
        if (a.length > 7 && e.setTransCoding(a[7]) != 0)
            System.exit(1);
        int rc = e.joinChannel(channel, token, info, user, appId, null);
        System.out.println("JOIN " + rc);
        if (rc != 0)
            System.exit(1);
        long t0 = System.currentTimeMillis();
        r.await("onMainFirstRemoteVideoFrame " + peer, seconds * 1000);
        Thread.sleep(seconds * 1000 / 2);
        e.muteLocalAudioStream(true);
        System.out.println("MUTED");
        Thread.sleep(Math.max(seconds * 1000 / 2, seconds * 1000 - (System.currentTimeMillis() - t0)));
        RemoteVideoStats s = e.getRemoteFrameStats(peer);
        e.leaveChannel();
        r.await("onMainLeaveChannel", 5000);
        for (String ev : r.snapshot())
            System.out.println("EVENT " + ev);
        System.out.println(s == null ? "FRAMES 0 0 0 0 0 0"
                : "FRAMES " + s.receivedFrames + " " + s.keyFrames + " " + s.width + " " + s.height + " "
                        + s.decodedFrames + " " + s.decodeErrors);
        e.onDestroy();
        System.exit(0);
    }
}
