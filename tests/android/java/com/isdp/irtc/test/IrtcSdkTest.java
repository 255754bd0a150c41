package com.isdp.irtc.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import android.content.Context;
import android.view.SurfaceView;

import com.isdp.irtc.ChannelMediaOptions;
import com.isdp.irtc.CreateVideoEngine;
import com.isdp.irtc.EncodedFrameObserver;
import com.isdp.irtc.EngineType;
import com.isdp.irtc.ISDPRtcErrorCode;
import com.isdp.irtc.ISDPVideoEngineListener;
import com.isdp.irtc.RemoteVideoStats;
import com.isdp.irtc.RtcEngine;
import com.isdp.irtc.VideoCanvas;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Android SDK on the desktop build against a real irtcd on loopback
 * (tests/android/test_android.sh starts it): the guide's API surface, then
 * engines in one JVM joining, publishing real media (the desktop build's
 * FFmpeg test pattern and tone, or frames pushed from outside) and decoding it.
 * Every wait is bounded.
 */
class IrtcSdkTest {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private final List<RtcEngine> engines = new ArrayList<RtcEngine>();
    private final Context ctx = new Context() {
    };

    private static String channel() {
        return "and" + System.nanoTime() % 1000000 + "-" + SEQ.incrementAndGet();
    }

    private RtcEngine engine(Recorder r) {
        RtcEngine e = new CreateVideoEngine().create(ctx, EngineType.ISDP);
        e.createVideo(ctx, Irtcd.APP, r);
        engines.add(e);
        return e;
    }

    @AfterEach
    void destroyEngines() {
        for (RtcEngine e : engines)
            e.onDestroy();
        engines.clear();
    }

    // ---- the guide's names (§7.2.4) ----

    @Test
    void apiHasEveryMethodCallbackAndCodeOfTheGuide() throws Exception {
        String[] methods = {"createVideo", "onDestroy", "joinChannel", "leaveChannel", "leaveSubChannel", "renewToken",
                "createRendererView", "createSubRendererView", "setupLocalVideo", "setupRemoteVideo",
                "resetResolution", "setPlayCoding", "setTransCoding", "setResolutionMode", "enableVideo",
                "enableLocalVideo", "disableVideo", "muteRemoteVideoStream", "muteAllRemoteVideoStreams",
                "enableAudio", "enableLocalAudio", "disableAudio", "muteLocalAudioStream",
                "muteAllRemoteAudioStreams", "adjustPlaybackVolume", "startPreview"};
        Set<String> have = new HashSet<String>();
        for (Method m : RtcEngine.class.getMethods())
            have.add(m.getName());
        for (String m : methods)
            assertTrue(have.contains(m), "RtcEngine." + m);
        assertEquals(26, methods.length);
        // Exact signatures the guide declares.
        RtcEngine.class.getMethod("createVideo", Context.class, String.class, ISDPVideoEngineListener.class);
        RtcEngine.class.getMethod("joinChannel", String.class, String.class, String.class, String.class,
                String.class, ISDPVideoEngineListener.class);
        RtcEngine.class.getMethod("joinChannel", String.class, String.class, String.class, String.class,
                ChannelMediaOptions.class, ISDPVideoEngineListener.class);
        RtcEngine.class.getMethod("setupLocalVideo", SurfaceView.class, int.class, String.class);
        RtcEngine.class.getMethod("setupRemoteVideo", SurfaceView.class, int.class, String.class, String.class);
        RtcEngine.class.getMethod("createSubRendererView", Context.class, String.class);
        RtcEngine.class.getMethod("resetResolution", int.class, int.class, int.class);
        RtcEngine.class.getMethod("muteRemoteVideoStream", String.class, boolean.class);
        RtcEngine.class.getMethod("renewToken", String.class);

        String[] callbacks = {"onRemoteVideoStateChanged", "onRemoteAudioStateChanged", "onJoinMainChannelSuccess",
                "onMainUserJoined", "onMainError", "onMainUserOffline", "onMainLeaveChannel",
                "onMainFirstRemoteVideoFrame", "onMainFirstLocalVideoFrame", "onClientRoleChanged",
                "onLocalAudioStateChanged", "onRemoteVideoStats", "renewToken", "onFirstLocalAudioFrame",
                "onFirstRemoteVideoDecoded", "onStreamPublished", "onTokenPrivilegeWillExpire", "onRemoteAudioStats",
                "onFirstRemoteAudioFrame", "onAudioPlayModelChanged", "onAudioVolumeIndication", "onRtcStats",
                "onNetworkQuality", "onMonitorReady", "onConnectionStateChanged", "onConnectionLost",
                "onRejoinChannelSuccess", "onNetworkQualityNotify", "onJoinChannelSuccess", "onJoinChannelFailure",
                "onLeaveChannel"};
        Set<String> cbs = new HashSet<String>();
        for (Method m : ISDPVideoEngineListener.class.getDeclaredMethods())
            cbs.add(m.getName());
        assertEquals(new HashSet<String>(Arrays.asList(callbacks)), cbs);
        assertEquals(31, callbacks.length);
        ISDPVideoEngineListener.class.getMethod("onMainFirstRemoteVideoFrame", String.class, int.class, int.class,
                int.class);
        ISDPVideoEngineListener.class.getMethod("onMainUserOffline", String.class, int.class);

        String[] codes = {"ERR_SDK_INTERNAL_ERROR", "ERR_SDK_NOT_SUPPORTED", "ERR_CREATE_MEDIA_ENGINE",
                "ERR_NOT_INITIALIZED", "ERR_SOCKET_URL_NOT_CORRECT", "ERR_INVALID_CONNECT_PARAMETER",
                "ERR_CONNECT_PARAMETER_NOT_EMPTY", "ERR_VIDEOINFO_NOT_EMPTY", "ERR_INVALID_TOKEN",
                "ERR_TOKEN_EXPIRED", "ERR_USER_ALREADY_JOINED", "ERR_USER_ALREADY_LEAVED", "ERR_SOCKET_CONNECT_FAIL",
                "ERR_SOCKET_CONNECT_TIMEOUT", "ERR_SOCKET_RECONNECT_FAIL", "ERR_SOCKET_DISCONNECT",
                "ERR_SERVER_NO_RESPONSE", "ERR_JOIN_CHANNEL_FAIL", "ERR_JOIN_CHANNEL_REJECTED", "ERR_MEM_NOT_ENOUGH",
                "ERR_GET_MEDIA_PORT_FAIL", "ERR_SCREEN_CAPTURE_FAIL", "ERR_SET_REMOTE_AUDIO_MUTE_FAIL",
                "ERR_SETUP_REMOTE_VIEW_FAIL", "ERR_PUBLISH_AUDIO_STREAM_FAIL", "ERR_PUBLISH_VIDEO_STREAM_FAIL"};
        int n = 0;
        for (Field f : ISDPRtcErrorCode.class.getFields()) {
            assertTrue(Modifier.isStatic(f.getModifiers()) && Modifier.isFinal(f.getModifiers()), f.getName());
            n++;
        }
        assertEquals(26, n);
        for (int i = 0; i < codes.length; i++)
            assertEquals(200001 + i, ISDPRtcErrorCode.class.getField(codes[i]).getInt(null), codes[i]);
        assertEquals(1, VideoCanvas.RENDER_MODE_HIDDEN);
    }

    // ---- the guide's flow ----

    @Test
    void guideSampleJoinsPublishesAndAnotherEngineReceivesIt() throws Exception {
        String ch = channel();
        GuideSample a = new GuideSample(Irtcd.APP, Irtcd.info());
        a.create();
        assertNotNull(a.mRtcEngine);
        engines.add(a.mRtcEngine);
        a.mRtcEngine.resetResolution(640, 360, 15);
        a.preview(a.mRtcEngine.createRendererView(null), ch, "alice");
        a.joinChannel(ch, Irtcd.token(ch, "alice"), "alice");
        Recorder ra = a.videoEngineListener;
        assertNotNull(ra.await("onJoinMainChannelSuccess " + ch + " alice", 10000), "A joined: " + ra.snapshot());
        assertNotNull(ra.await("onStreamPublished", 15000), "A published: " + ra.snapshot());
        assertNotNull(ra.await("onMainFirstLocalVideoFrame 640x360", 1000));

        Recorder rb = new Recorder();
        RtcEngine b = engine(rb);
        assertEquals(0, b.setupRemoteVideo(b.createSubRendererView(ctx, "alice"), VideoCanvas.RENDER_MODE_HIDDEN, ch,
                "alice"));
        assertEquals(0, b.joinChannel(ch, Irtcd.token(ch, "bob"), Irtcd.info(), "bob", Irtcd.APP, null));
        assertNotNull(rb.await("onJoinMainChannelSuccess " + ch + " bob", 10000), "B joined: " + rb.snapshot());
        assertNotNull(rb.await("onMainUserJoined " + ch + " alice", 5000), "B sees A: " + rb.snapshot());
        assertNotNull(ra.await("onMainUserJoined " + ch + " bob", 5000), "A sees B: " + ra.snapshot());
        assertNotNull(rb.await("onMainFirstRemoteVideoFrame alice 640x360", 15000), "first frame: " + rb.snapshot());
        assertNotNull(rb.await("onFirstRemoteAudioFrame alice", 5000), "first audio: " + rb.snapshot());

        // Frames keep flowing into B's sink (15 fps).
        RemoteVideoStats s1 = b.getRemoteFrameStats("alice");
        Thread.sleep(2000);
        RemoteVideoStats s2 = b.getRemoteFrameStats("alice");
        assertNotNull(s1);
        assertTrue(s2.receivedFrames - s1.receivedFrames >= 15, "frames in 2 s: " + (s2.receivedFrames - s1.receivedFrames));
        assertEquals(640, s2.width);
        assertEquals(360, s2.height);
        assertTrue(s2.keyFrames >= 1);
        assertNotNull(rb.await("onRtcStats", 3000));
        assertNotNull(rb.await("onRemoteVideoStats alice", 3000));

        // muteLocalAudioStream reaches the other side as the server's mute-audio.
        assertEquals(0, a.mRtcEngine.muteLocalAudioStream(true));
        assertNotNull(rb.await("onRemoteAudioStateChanged alice 0 5", 5000), "mute seen: " + rb.snapshot());

        // Callbacks come on the desktop build's callback thread only.
        assertEquals(Arrays.asList("irtc-callbacks"), rb.threads);

        a.leave();
        assertNotNull(rb.await("onMainUserOffline alice 0", 5000), "A left: " + rb.snapshot());
        assertNotNull(ra.await("onMainLeaveChannel", 5000));
        assertNull(b.getRemoteFrameStats("alice"));
        assertEquals(ISDPRtcErrorCode.ERR_USER_ALREADY_LEAVED, a.mRtcEngine.leaveChannel());
    }

    /**
     * A (codec: "VP8" or "H264") publishes its 320x240 test pattern and tone; B's
     * engine decodes them: the first decoded picture's size, >= 30 pictures in 3 s
     * without a decode error, the tone's level.
     */
    private void decodedByAnotherEngine(String codec, String ua, String ub) throws Exception {
        String ch = channel();
        Recorder ra = new Recorder(), rb = new Recorder();
        RtcEngine a = engine(ra), b = engine(rb);
        assertEquals(0, a.setTransCoding(codec));
        a.resetResolution(320, 240, 15);
        assertEquals(0, a.joinChannel(ch, Irtcd.token(ch, ua), Irtcd.info(), ua, Irtcd.APP, null));
        assertNotNull(ra.await("onStreamPublished", 15000), "A published: " + ra.snapshot());
        assertEquals(0, b.joinChannel(ch, Irtcd.token(ch, ub), Irtcd.info(), ub, Irtcd.APP, null));
        // The size comes from the first decoded picture.
        assertNotNull(rb.await("onMainFirstRemoteVideoFrame " + ua + " 320x240", 15000), "first: " + rb.snapshot());
        assertNotNull(rb.await("onFirstRemoteVideoDecoded " + ua + " 320x240", 1000));
        RemoteVideoStats s1 = b.getRemoteFrameStats(ua);
        Thread.sleep(3000);
        RemoteVideoStats s2 = b.getRemoteFrameStats(ua);
        long decoded = s2.decodedFrames - s1.decodedFrames;
        assertTrue(decoded >= 30, codec + " pictures decoded in 3 s at 15 fps: " + decoded);
        assertEquals(0, s2.decodeErrors, "decode errors");
        assertEquals(320, s2.width);
        assertEquals(240, s2.height);
        assertTrue(s2.receivedFrames >= s2.decodedFrames);
        // The tone's level from B's decoded PCM (a -12 dBFS sine: RMS about 44 of 255), every 2 s.
        String vol = rb.await("onAudioVolumeIndication", 5000);
        assertNotNull(vol, rb.snapshot().toString());
        int level = Integer.parseInt(vol.substring(vol.indexOf(ua + ":") + ua.length() + 1).split(" ")[0]);
        assertTrue(level >= 20 && level <= 80, "tone level " + level + " in " + vol);
    }

    /** Real media: A's VP8 test pattern and Opus tone are decoded by B's engine (FFmpeg, desktop build). */
    @Test
    void engineDecodesAnotherEnginesVideoAtItsSizeAndHearsItsTone() throws Exception {
        decodedByAnotherEngine("VP8", "vera", "walt");
    }

    /** setTransCoding("H264"): A publishes H.264 (libx264, RFC 6184 STAP-A/FU-A); B's engine decodes it. */
    @Test
    void h264PublicationIsDecodedAtItsSize() throws Exception {
        RtcEngine probe = engine(new Recorder());
        assertEquals(ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED, probe.setTransCoding("VP9"));
        decodedByAnotherEngine("H264", "hana", "ivan");
    }

    /**
     * External media, the interface Android's MediaCodec pipeline uses: engine R
     * takes A's received frames undecoded (EncodedFrameObserver) and publishes
     * them again with pushEncodedFrame; engine C decodes R's stream at A's size.
     */
    @Test
    void externalMediaRelaysEncodedFramesThatAnotherEngineDecodes() throws Exception {
        String ch = channel();
        Recorder ra = new Recorder(), rr = new Recorder(), rc = new Recorder();
        final RtcEngine a = engine(ra), r = engine(rr), c = engine(rc);
        a.resetResolution(320, 240, 15);
        final AtomicInteger keyFrames = new AtomicInteger(), videoFrames = new AtomicInteger(),
                audioFrames = new AtomicInteger(), pushRefused = new AtomicInteger(), keyRequests = new AtomicInteger();
        final int[] keySize = new int[2];
        assertEquals(0, r.setExternalMedia(new EncodedFrameObserver() {
            @Override
            public void onRemoteEncodedFrame(String uid, boolean video, boolean h264, boolean key, int w, int h, long ts,
                    byte[] d) {
                if (!"ada".equals(uid))
                    return;
                (video ? videoFrames : audioFrames).incrementAndGet();
                if (key) {
                    keyFrames.incrementAndGet();
                    keySize[0] = w;
                    keySize[1] = h;
                }
                long pts = video ? ts * 1000 / 90 : ts * 1000 / 48;
                int rc = r.pushEncodedFrame(video, pts, d, d.length);
                if (rc != 0)
                    pushRefused.incrementAndGet();
            }

            @Override
            public void onKeyFrameRequested() {
                keyRequests.incrementAndGet();
            }
        }));
        assertEquals(0, a.joinChannel(ch, Irtcd.token(ch, "ada"), Irtcd.info(), "ada", Irtcd.APP, null));
        assertNotNull(ra.await("onStreamPublished", 15000), "A published: " + ra.snapshot());
        assertEquals(0, r.joinChannel(ch, Irtcd.token(ch, "rex"), Irtcd.info(), "rex", Irtcd.APP, null));
        assertNotNull(rr.await("onStreamPublished", 15000), "R published: " + rr.snapshot());
        assertNotNull(rr.await("onMainFirstRemoteVideoFrame ada 320x240", 15000), "R: " + rr.snapshot());
        assertEquals(0, c.joinChannel(ch, Irtcd.token(ch, "cyd"), Irtcd.info(), "cyd", Irtcd.APP, null));
        assertNotNull(rc.await("onMainFirstRemoteVideoFrame rex 320x240", 20000), "C decodes R: " + rc.snapshot());
        Thread.sleep(2000);
        RemoteVideoStats s = c.getRemoteFrameStats("rex");
        assertTrue(s.decodedFrames >= 15, "C decoded R's relayed frames: " + s.decodedFrames);
        assertEquals(0, s.decodeErrors);
        assertTrue(keyFrames.get() >= 1 && keySize[0] == 320 && keySize[1] == 240,
                "R saw A's keyframes: " + keyFrames.get() + " " + keySize[0] + "x" + keySize[1]);
        assertTrue(videoFrames.get() >= 30 && audioFrames.get() >= 100,
                "R got frames: " + videoFrames.get() + " video, " + audioFrames.get() + " audio");
        assertTrue(rc.await("onAudioVolumeIndication", 5000) != null, rc.snapshot().toString());
        // R's engine decodes nothing itself with external media.
        assertEquals(0, r.getRemoteFrameStats("ada").decodedFrames);
        assertTrue(pushRefused.get() == 0, "pushes refused: " + pushRefused.get());
        assertEquals(ISDPRtcErrorCode.ERR_INVALID_CONNECT_PARAMETER, r.pushEncodedFrame(true, 0, new byte[0], 0));
    }

    @Test
    void releaseUserKicksAndTheOthersSeeReasonFive() throws Exception {
        String ch = channel();
        Recorder ra = new Recorder(), rb = new Recorder();
        RtcEngine a = engine(ra), b = engine(rb);
        assertEquals(0, a.joinChannel(ch, Irtcd.token(ch, "carol"), Irtcd.info(), "carol", Irtcd.APP, null));
        assertNotNull(ra.await("onJoinMainChannelSuccess", 10000), ra.snapshot().toString());
        assertEquals(0, b.joinChannel(ch, Irtcd.token(ch, "dave"), Irtcd.info(), "dave", Irtcd.APP, null));
        assertNotNull(rb.await("onMainUserJoined " + ch + " carol", 10000), rb.snapshot().toString());
        String r = Irtcd.releaseUser(ch, "carol");
        assertTrue(r.contains("\"errorCode\":\"0\""), r);
        assertNotNull(rb.await("onMainUserOffline carol 5", 5000), rb.snapshot().toString());
        assertNotNull(ra.await("onConnectionStateChanged 1 5", 5000), ra.snapshot().toString());
        assertNotNull(ra.await("onMainLeaveChannel", 5000));
    }

    @Test
    void lostSignalingConnectionRejoinsAndMediaFlowsAgain() throws Exception {
        String ch = channel();
        Recorder ra = new Recorder(), rb = new Recorder();
        RtcEngine a = engine(ra), b = engine(rb);
        a.resetResolution(320, 180, 15);
        try (CutProxy proxy = new CutProxy(Integer.parseInt(Irtcd.PORT))) {
            assertEquals(0, a.joinChannel(ch, Irtcd.token(ch, "hana"), "127.0.0.1:" + proxy.port(), "hana", Irtcd.APP,
                    null));
            assertNotNull(ra.await("onStreamPublished", 15000), ra.snapshot().toString());
            assertEquals(0, b.joinChannel(ch, Irtcd.token(ch, "ivan"), Irtcd.info(), "ivan", Irtcd.APP, null));
            assertNotNull(rb.await("onMainFirstRemoteVideoFrame hana 320x180", 15000), rb.snapshot().toString());
            proxy.cut();
            assertNotNull(ra.await("onConnectionStateChanged " + ISDPVideoEngineListener.CONNECTION_STATE_RECONNECTING
                    + " 7", 5000), ra.snapshot().toString());
            assertNotNull(ra.await("onConnectionLost", 1000));
            assertNotNull(rb.await("onMainUserOffline hana 7", 5000), rb.snapshot().toString());
            assertNotNull(ra.await("onRejoinChannelSuccess " + ch + " hana", 20000), ra.snapshot().toString());
            assertTrue(ra.awaitCount("onConnectionStateChanged " + ISDPVideoEngineListener.CONNECTION_STATE_CONNECTED,
                    2, 1000), ra.snapshot().toString());
            assertTrue(rb.awaitCount("onMainUserJoined " + ch + " hana", 2, 10000), rb.snapshot().toString());
            assertTrue(rb.awaitCount("onMainFirstRemoteVideoFrame hana 320x180", 2, 15000), rb.snapshot().toString());
            RemoteVideoStats s1 = b.getRemoteFrameStats("hana");
            Thread.sleep(1500);
            RemoteVideoStats s2 = b.getRemoteFrameStats("hana");
            assertTrue(s1 != null && s2.receivedFrames > s1.receivedFrames, "frames flow again after the rejoin");
            assertTrue(!ra.has("onMainLeaveChannel") && !ra.has("onMainError"), ra.snapshot().toString());
            assertEquals(0, a.leaveChannel());
            assertNotNull(ra.await("onMainLeaveChannel", 5000));
        }
    }

    // ---- errors ----

    @Test
    void badTokenGivesTheGuidesCodeThroughOnMainError() throws Exception {
        String ch = channel();
        Recorder r = new Recorder();
        RtcEngine e = engine(r);
        // A token for another user: the server refuses it with 200009.
        assertEquals(0, e.joinChannel(ch, Irtcd.token(ch, "erin"), Irtcd.info(), "frank", Irtcd.APP, null));
        assertNotNull(r.await("onMainError " + ISDPRtcErrorCode.ERR_INVALID_TOKEN, 10000), r.snapshot().toString());
        assertNotNull(r.await("onJoinChannelFailure " + ISDPRtcErrorCode.ERR_INVALID_TOKEN, 1000));
        assertTrue(!r.has("onJoinMainChannelSuccess"));
        // Refused before anything is sent.
        assertEquals(ISDPRtcErrorCode.ERR_INVALID_TOKEN,
                e.joinChannel(ch, "not a token", Irtcd.info(), "frank", Irtcd.APP, null));
        assertEquals(ISDPRtcErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY,
                e.joinChannel(ch, "", Irtcd.info(), "frank", Irtcd.APP, null));
        assertEquals(ISDPRtcErrorCode.ERR_SOCKET_URL_NOT_CORRECT,
                e.joinChannel(ch, Irtcd.token(ch, "frank"), "127.0.0.1:notaport", "frank", Irtcd.APP, null));
        // Nothing listens there: the socket fails.
        assertEquals(0, e.joinChannel(ch, Irtcd.token(ch, "frank"), "127.0.0.1:1", "frank", Irtcd.APP, null));
        assertNotNull(r.await("onMainError " + ISDPRtcErrorCode.ERR_SOCKET_CONNECT_FAIL, 10000), r.snapshot().toString());
        // Not created: nothing works.
        RtcEngine bare = new CreateVideoEngine().create(ctx, EngineType.ISDP);
        assertEquals(ISDPRtcErrorCode.ERR_NOT_INITIALIZED,
                bare.joinChannel(ch, Irtcd.token(ch, "frank"), Irtcd.info(), "frank", Irtcd.APP, null));
        assertEquals(ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED, e.setTransCoding("H265"));
        assertEquals(0, e.setTransCoding("VP8"));
    }

    @Test
    void renewTokenKeepsTheCallAndAWrongOneIsRefused() throws Exception {
        String ch = channel();
        Recorder r = new Recorder();
        RtcEngine e = engine(r);
        assertEquals(0, e.joinChannel(ch, Irtcd.token(ch, "gina"), Irtcd.info(), "gina", Irtcd.APP, null));
        assertNotNull(r.await("onJoinMainChannelSuccess", 10000), r.snapshot().toString());
        assertEquals(ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED,
                e.joinChannel(ch, Irtcd.token(ch, "gina"), Irtcd.info(), "gina", Irtcd.APP, null));
        assertEquals(0, e.renewToken(Irtcd.token(ch, "gina")));
        Thread.sleep(1000);
        assertTrue(!r.has("onMainError"), r.snapshot().toString());
        assertEquals(0, e.renewToken(Irtcd.token(ch, "someone-else")));
        assertNotNull(r.await("onMainError " + ISDPRtcErrorCode.ERR_INVALID_TOKEN, 5000), r.snapshot().toString());
        assertTrue(!r.has("onMainLeaveChannel"), "still in the call: " + r.snapshot());
        assertEquals(0, e.leaveChannel());
        assertNotNull(r.await("onMainLeaveChannel", 5000));
    }

    /** Two users whose tokens expire in 15 s: the one that renews in renewToken() stays, the other is removed (6). */
    @Test
    void tokenAboutToExpireIsRenewedFromTheCallbackAndTheCallGoesOn() throws Exception {
        final String ch = channel();
        final RtcEngine[] self = new RtcEngine[1];
        final List<String> renewals = new ArrayList<String>();
        Recorder renewing = new Recorder() {
            @Override
            public void renewToken() {
                super.renewToken();
                try {
                    renewals.add(String.valueOf(self[0].renewToken(Irtcd.token(ch, "jack"))));
                } catch (Exception e) {
                    renewals.add(e.toString());
                }
            }
        };
        Recorder lapsing = new Recorder();
        RtcEngine a = engine(renewing), c = engine(lapsing);
        self[0] = a;
        assertEquals(0, a.joinChannel(ch, Irtcd.tokenExpiringIn(ch, "jack", 15000), Irtcd.info(), "jack", Irtcd.APP, null));
        assertEquals(0, c.joinChannel(ch, Irtcd.tokenExpiringIn(ch, "kate", 15000), Irtcd.info(), "kate", Irtcd.APP, null));
        assertNotNull(renewing.await("onTokenPrivilegeWillExpire", 10000), renewing.snapshot().toString());
        assertNotNull(renewing.await("renewToken", 1000));
        assertNotNull(lapsing.await("onTokenPrivilegeWillExpire", 10000), lapsing.snapshot().toString());
        assertNotNull(lapsing.await("onConnectionStateChanged " + ISDPVideoEngineListener.CONNECTION_STATE_DISCONNECTED
                + " " + ISDPVideoEngineListener.USER_OFFLINE_TOKEN_EXPIRED, 25000), lapsing.snapshot().toString());
        assertNotNull(renewing.await("onMainUserOffline kate 6", 5000), renewing.snapshot().toString());
        Thread.sleep(1000);
        assertEquals(Arrays.asList("0"), renewals);
        assertTrue(!renewing.has("onMainLeaveChannel") && !renewing.has("onMainError"), renewing.snapshot().toString());
        assertEquals(0, a.leaveChannel());
        assertNotNull(renewing.await("onMainLeaveChannel", 5000));
    }

    @Test
    void ninthPublisherIsRefused() throws Exception {
        String ch = channel();
        List<Recorder> rs = new ArrayList<Recorder>();
        for (int i = 0; i < 9; i++) {
            Recorder r = new Recorder();
            RtcEngine e = engine(r);
            e.resetResolution(160, 90, 5);
            e.muteAllRemoteAudioStreams(true); /* no subscriptions: only the publisher limit matters */
            e.muteAllRemoteVideoStreams(true);
            assertEquals(0, e.joinChannel(ch, Irtcd.token(ch, "p" + i), Irtcd.info(), "p" + i, Irtcd.APP, null));
            assertNotNull(r.await("onJoinMainChannelSuccess", 10000), r.snapshot().toString());
            if (i < 8)
                assertNotNull(r.await("onStreamPublished", 10000), "publisher " + i + ": " + r.snapshot());
            rs.add(r);
        }
        Recorder ninth = rs.get(8);
        assertNotNull(ninth.await("onMainError " + ISDPRtcErrorCode.ERR_JOIN_CHANNEL_REJECTED, 10000),
                ninth.snapshot().toString());
        assertTrue(!ninth.has("onStreamPublished"));
    }
}
