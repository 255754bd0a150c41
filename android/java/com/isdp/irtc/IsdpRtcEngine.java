package com.isdp.irtc;

import android.content.Context;
import android.view.SurfaceView;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;

/**
 * RtcEngine over the native engine: argument checks, the join token's
 * media endpoint and role, the views bound to users, and the native events
 * turned into the guide's callbacks on the callback executor.
 *
 * Threads: the API may be called from any thread (state under this
 * object's lock); native events arrive on the engine thread and are
 * re-posted, in order, to the executor.
 */
final class IsdpRtcEngine extends RtcEngine implements NativeEngine.Sink {
    /** irtcd's HTTPS port when joinChannel's info names no port (etc/irtc.yaml). */
    static final int DEFAULT_SIGNAL_PORT = 8443;

    private NativeEngine nativeEngine;
    private Executor executor;
    private ExecutorService ownExecutor;
    private volatile ISDPVideoEngineListener listener;
    private String appId;
    private String channelId, userId, token;
    private boolean inChannel;
    private VideoCanvas localCanvas;
    private final Map<String, VideoCanvas> remoteCanvases = new HashMap<String, VideoCanvas>();
    private final List<String> remoteUsers = new ArrayList<String>();
    private boolean localVideo = true, localAudio = true;
    /* resetResolution's, for the device's encoder (the engine's defaults) */
    private int width = 640, height = 360, fps = 15;
    private boolean h264; /* setTransCoding's */
    /* On Android: Camera2 / MediaCodec / AudioTrack as the engine's external media; null on the desktop. */
    private AndroidMedia media;

    // ---- lifecycle ----

    @Override
    public synchronized void createVideo(Context mContext, String id, ISDPVideoEngineListener l) {
        listener = l;
        appId = id;
        if (executor == null) {
            if (System.getProperty("java.vm.name", "").contains("Dalvik")) {
                executor = new MainLooperExecutor();
            } else {
                ownExecutor = Executors.newSingleThreadExecutor(new ThreadFactory() {
                    @Override
                    public Thread newThread(Runnable r) {
                        Thread t = new Thread(r, "irtc-callbacks");
                        t.setDaemon(true);
                        return t;
                    }
                });
                executor = ownExecutor;
            }
        }
        if (nativeEngine != null)
            return;
        NativeEngine n = null;
        if (NativeEngine.load()) {
            try {
                n = new NativeEngine(this);
            } catch (RuntimeException e) {
                n = null; /* no thread or loop could be made: reported below */
            }
        }
        if (n == null || !n.valid()) {
            post(new Runnable() {
                @Override
                public void run() {
                    ISDPVideoEngineListener x = listener;
                    if (x != null)
                        x.onMainError(ISDPRtcErrorCode.ERR_CREATE_MEDIA_ENGINE);
                }
            });
            return;
        }
        nativeEngine = n;
        if (System.getProperty("java.vm.name", "").contains("Dalvik")) {
            media = new AndroidMedia(mContext, this);
            n.setExternal(media);
        }
    }

    @Override
    public void onDestroy() {
        NativeEngine n;
        ExecutorService own;
        AndroidMedia m;
        synchronized (this) {
            n = nativeEngine;
            own = ownExecutor;
            m = media;
            nativeEngine = null;
            ownExecutor = null;
            media = null;
            inChannel = false;
        }
        if (n != null)
            n.destroy(); /* joins the engine thread: no event after this */
        if (m != null)
            m.release();
        if (own != null)
            own.shutdown();
    }

    // ---- the channel ----

    @Override
    public int joinChannel(String channelId, String token, String info, String userId, String appId,
            ISDPVideoEngineListener l) {
        return join(channelId, token, info, userId, appId, null, l);
    }

    @Override
    public int joinChannel(String channelId, String token, String info, String userId,
            ChannelMediaOptions mediaOptions, ISDPVideoEngineListener l) {
        return join(channelId, token, info, userId, null, mediaOptions, l);
    }

    private synchronized int join(String channel, String tok, String info, String user, String app,
            ChannelMediaOptions opts, ISDPVideoEngineListener l) {
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        if (inChannel)
            return ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED; /* one channel per engine: leaveChannel first */
        if (l != null)
            listener = l;
        if (app == null || app.length() == 0)
            app = appId;
        if (isEmpty(channel) || isEmpty(tok) || isEmpty(user) || isEmpty(app))
            return ISDPRtcErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY;
        JoinToken t = JoinToken.parse(tok);
        if (t == null)
            return ISDPRtcErrorCode.ERR_INVALID_TOKEN;
        String host = t.host;
        int port = DEFAULT_SIGNAL_PORT;
        if (!isEmpty(info)) {
            String domain = JoinToken.domainOf(info);
            int colon = domain == null ? -1 : domain.lastIndexOf(':');
            try {
                if (domain == null || domain.length() == 0)
                    return ISDPRtcErrorCode.ERR_SOCKET_URL_NOT_CORRECT;
                if (colon >= 0) {
                    port = Integer.parseInt(domain.substring(colon + 1));
                    host = domain.substring(0, colon);
                } else {
                    host = domain;
                }
            } catch (NumberFormatException e) {
                return ISDPRtcErrorCode.ERR_SOCKET_URL_NOT_CORRECT;
            }
        }
        if (host == null || !JoinToken.isIpv4(host) || port <= 0 || port > 65535)
            return ISDPRtcErrorCode.ERR_SOCKET_URL_NOT_CORRECT;
        if (opts != null) {
            setLocalLocked(false, opts.publishLocalAudio);
            setLocalLocked(true, opts.publishLocalVideo);
            nativeEngine.setRemote(null, false, opts.autoSubscribeAudio);
            nativeEngine.setRemote(null, true, opts.autoSubscribeVideo);
        }
        int rc = nativeEngine.join(host, port, app, channel, user, tok, t.role);
        if (rc == 0) {
            channelId = channel;
            userId = user;
            token = tok;
            inChannel = true;
        }
        return rc;
    }

    @Override
    public synchronized int leaveChannel() {
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        if (!inChannel)
            return ISDPRtcErrorCode.ERR_USER_ALREADY_LEAVED;
        inChannel = false;
        return nativeEngine.leave();
    }

    /** One channel per engine here: the channel must be the one joined. */
    @Override
    public synchronized int leaveSubChannel(String channel) {
        if (channel == null || !channel.equals(channelId) || !inChannel)
            return ISDPRtcErrorCode.ERR_USER_ALREADY_LEAVED;
        return leaveChannel();
    }

    @Override
    public synchronized int renewToken(String tok) {
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        if (isEmpty(tok))
            return ISDPRtcErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY;
        int rc = nativeEngine.renew(tok);
        if (rc == 0)
            token = tok;
        return rc;
    }

    // ---- views ----

    @Override
    public SurfaceView createRendererView(Context context) {
        return new SurfaceView(context);
    }

    @Override
    public SurfaceView createSubRendererView(Context context, String user) {
        return new SurfaceView(context);
    }

    @Override
    public synchronized int setupLocalVideo(SurfaceView view, int renderMode, String user) {
        localCanvas = new VideoCanvas(view, renderMode, channelId, user);
        if (media != null)
            media.setLocalView(view);
        return 0;
    }

    @Override
    public synchronized int setupRemoteVideo(SurfaceView view, int renderMode, String channel, String user) {
        if (view == null || isEmpty(user))
            return ISDPRtcErrorCode.ERR_SETUP_REMOTE_VIEW_FAIL;
        remoteCanvases.put(user, new VideoCanvas(view, renderMode, channel, user));
        if (media != null)
            media.setRemoteView(user, view);
        return 0;
    }

    @Override
    public synchronized int startPreview(String channel) {
        return nativeEngine == null ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED : 0;
    }

    // ---- video and audio ----

    @Override
    public synchronized void resetResolution(int width, int height, int framerate) {
        if (nativeEngine != null && width > 0 && width <= 4096 && height > 0 && height <= 4096 && framerate > 0
                && framerate <= 60)
            nativeEngine.setResolution(width, height, framerate);
            this.width = width;
            this.height = height;
            this.fps = framerate;
    }

    /** VP8 is the one codec the native engine sends and receives. */
    @Override
    public int setPlayCoding(String codec) {
        /* Every subscription offers both: the publisher's codec is received. */
        return "VP8".equalsIgnoreCase(codec) || "H264".equalsIgnoreCase(codec) ? 0
                : ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED;
    }

    /** The next publication's video codec: "VP8" (the default) or "H264". */
    @Override
    public synchronized int setTransCoding(String codec) {
        boolean h264 = "H264".equalsIgnoreCase(codec);
        if (!h264 && !"VP8".equalsIgnoreCase(codec))
            return ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED;
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        nativeEngine.setH264(h264);
        this.h264 = h264;
        return 0;
    }

    /** 0: a fixed resolution (resetResolution's), the only mode built. */
    @Override
    public int setResolutionMode(int mode) {
        return mode == 0 ? 0 : ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED;
    }

    private void setLocalLocked(boolean video, boolean on) {
        if (video)
            localVideo = on;
        else
            localAudio = on;
        nativeEngine.setLocal(video, on);
    }

    private synchronized int local(boolean video, boolean on) {
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        setLocalLocked(video, on);
        return 0;
    }

    private synchronized int remote(String user, boolean video, boolean receive) {
        if (nativeEngine == null)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        nativeEngine.setRemote(user, video, receive);
        return 0;
    }

    @Override
    public int enableVideo() {
        int rc = local(true, true);
        return rc != 0 ? rc : remote(null, true, true);
    }

    @Override
    public int enableLocalVideo(boolean enabled) {
        return local(true, enabled);
    }

    @Override
    public int disableVideo() {
        int rc = local(true, false);
        return rc != 0 ? rc : remote(null, true, false);
    }

    @Override
    public int muteRemoteVideoStream(String user, boolean muted) {
        return isEmpty(user) ? ISDPRtcErrorCode.ERR_INVALID_CONNECT_PARAMETER : remote(user, true, !muted);
    }

    @Override
    public int muteAllRemoteVideoStreams(boolean muted) {
        return remote(null, true, !muted);
    }

    @Override
    public int enableAudio() {
        int rc = local(false, true);
        return rc != 0 ? rc : remote(null, false, true);
    }

    @Override
    public int enableLocalAudio(boolean enabled) {
        return local(false, enabled);
    }

    @Override
    public int disableAudio() {
        int rc = local(false, false);
        return rc != 0 ? rc : remote(null, false, false);
    }

    @Override
    public int muteLocalAudioStream(boolean muted) {
        return local(false, !muted);
    }

    @Override
    public int muteAllRemoteAudioStreams(boolean muted) {
        return remote(null, false, !muted);
    }

    /**
     * On Android: that user's AudioTrack gain, volume 0..100 of what is received.  The desktop
     * build plays no audio (it decodes only to measure): refused rather than ignored.
     */
    @Override
    public int adjustPlaybackVolume(String user, int volume) {
        AndroidMedia m;
        synchronized (this) {
            m = media;
        }
        if (isEmpty(user) || volume < 0)
            return ISDPRtcErrorCode.ERR_INVALID_CONNECT_PARAMETER;
        return m == null ? ISDPRtcErrorCode.ERR_SDK_NOT_SUPPORTED : m.setVolume(user, volume);
    }

    @Override
    public int setExternalMedia(EncodedFrameObserver observer) {
        NativeEngine n;
        synchronized (this) {
            n = nativeEngine;
        }
        return n == null ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED : n.setExternal(observer);
    }

    @Override
    public int pushEncodedFrame(boolean video, long ptsUs, byte[] data, int length) {
        NativeEngine n;
        synchronized (this) {
            n = nativeEngine;
        }
        return n == null ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED : n.sendFrame(video, ptsUs, data, length);
    }

    @Override
    public RemoteVideoStats getRemoteFrameStats(String user) {
        NativeEngine n;
        synchronized (this) {
            n = nativeEngine;
        }
        return n == null || user == null ? null : videoStats(user, n.frames(user));
    }

    /**
     * nativeFrames' {video frames, bytes, keyframes, audio frames, width, height, decoded frames, decoded width,
     * decoded height, decode errors, audio decoded, audio level} as stats, or null.
     */
    private static RemoteVideoStats videoStats(String user, long[] f) {
        if (f == null)
            return null;
        RemoteVideoStats s = new RemoteVideoStats();
        s.uid = user;
        s.receivedFrames = f[0];
        s.receivedBytes = f[1];
        s.keyFrames = f[2];
        boolean decoded = f[6] > 0;
        s.width = (int) (decoded ? f[7] : f[4]);
        s.height = (int) (decoded ? f[8] : f[5]);
        s.decodedFrames = f[6];
        s.decodeErrors = f[9];
        return s;
    }

    // ---- native events → callbacks ----

    private void post(Runnable r) {
        Executor e;
        synchronized (this) {
            e = executor;
        }
        if (e != null) {
            try {
                e.execute(r);
            } catch (RuntimeException ignored) {
                /* destroyed meanwhile: the app asked for no more callbacks */
            }
        }
    }

    @Override
    public void onEvent(final int type, final String str, final long[] v) {
        final String me, channel, tok;
        synchronized (this) {
            me = userId;
            channel = channelId;
            tok = token;
            if (type == NativeEngine.EV_LEFT || (type == NativeEngine.EV_ERROR && v[1] == 1))
                inChannel = false;
            if (type == NativeEngine.EV_PEER_JOINED && !remoteUsers.contains(str))
                remoteUsers.add(str);
            if (type == NativeEngine.EV_PEER_LEFT)
                remoteUsers.remove(str);
            if (type == NativeEngine.EV_LEFT)
                remoteUsers.clear();
        }
        final boolean audioFailed = deviceMedia(type, str);
        final List<RemoteVideoStats> videoStats = new ArrayList<RemoteVideoStats>();
        final List<RemoteAudioStats> audioStats = new ArrayList<RemoteAudioStats>();
        /* Filled on this thread, read once on the callback thread. */
        if (type == NativeEngine.EV_STATS)
            collectRemoteStats(videoStats, audioStats);
        post(new Runnable() {
            @Override
            public void run() {
                ISDPVideoEngineListener l = listener;
                if (l != null)
                    dispatch(l, type, str, v, me, channel, tok, videoStats, audioStats);
                if (l != null && audioFailed)
                    l.onLocalAudioStateChanged(LOCAL_AUDIO_FAILED, LOCAL_AUDIO_ERROR_ENCODE);
            }
        });
    }

    /** onLocalAudioStateChanged's state "failed" and reason "encoding failed" (no Opus encoder, or no microphone). */
    static final int LOCAL_AUDIO_FAILED = 3, LOCAL_AUDIO_ERROR_ENCODE = 3;

    /**
     * On the engine thread (onEvent): the device's capture and codecs follow the
     * publication and the users.  True when our publication went up without audio capture.
     */
    private boolean deviceMedia(int type, String str) {
        AndroidMedia m;
        int w, h, f;
        boolean avc;
        synchronized (this) {
            m = media;
            w = width;
            h = height;
            f = fps;
            avc = h264;
        }
        if (m == null)
            return false;
        if (type == NativeEngine.EV_PUBLISHED)
            return !m.startPublishing(avc, w, h, f);
        if (type == NativeEngine.EV_LEFT)
            m.release();
        else if (type == NativeEngine.EV_PEER_LEFT)
            m.removeUser(str);
        return false;
    }

    /** On the engine thread (onEvent). */
    private void collectRemoteStats(List<RemoteVideoStats> video, List<RemoteAudioStats> audio) {
        List<String> users;
        NativeEngine n;
        synchronized (this) {
            users = new ArrayList<String>(remoteUsers);
            n = nativeEngine;
        }
        for (String u : users) {
            long[] f = n == null ? null : n.framesOnEngineThread(u);
            if (f == null)
                continue;
            video.add(videoStats(u, f));
            RemoteAudioStats as = new RemoteAudioStats();
            as.uid = u;
            as.receivedFrames = f[3];
            as.decodedFrames = f[10];
            as.volume = (int) f[11];
            audio.add(as);
        }
    }

    private static RtcStats rtcStats(long[] v, int from) {
        RtcStats s = new RtcStats();
        s.totalDuration = (int) v[from];
        s.txBytes = v[from + 1];
        s.rxBytes = v[from + 2];
        s.txPackets = v[from + 3];
        s.rxPackets = v[from + 4];
        s.rxLostPackets = v[from + 5];
        s.users = (int) v[from + 6];
        if (from + 7 < v.length)
            s.rxJitterMs = (int) v[from + 7];
        return s;
    }

    /** 1 excellent … 6 down, from the loss ratio (0 unknown before any packet). */
    private static int quality(long packets, long lost) {
        if (packets <= 0)
            return 0;
        double loss = (double) lost / (double) (packets + lost);
        return loss < 0.01 ? 1 : loss < 0.03 ? 2 : loss < 0.08 ? 3 : loss < 0.15 ? 4 : loss < 0.3 ? 5 : 6;
    }

    private static void dispatch(ISDPVideoEngineListener l, int type, String str, long[] v, String me,
            String channel, String tok, List<RemoteVideoStats> videoStats, List<RemoteAudioStats> audioStats) {
        switch (type) {
        case NativeEngine.EV_CONN_STATE:
            l.onConnectionStateChanged((int) v[0], (int) v[1]);
            if (v[0] == ISDPVideoEngineListener.CONNECTION_STATE_RECONNECTING)
                l.onConnectionLost();
            break;
        case NativeEngine.EV_REJOINED:
            l.onRejoinChannelSuccess(str, me, (int) v[0]);
            break;
        case NativeEngine.EV_JOINED:
            l.onJoinMainChannelSuccess(str, me, (int) v[0]);
            l.onJoinChannelSuccess(str, me, (int) v[0]);
            break;
        case NativeEngine.EV_ERROR:
            l.onMainError((int) v[0]);
            if (v[1] == 1)
                l.onJoinChannelFailure((int) v[0]);
            break;
        case NativeEngine.EV_PEER_JOINED:
            l.onMainUserJoined(channel, str, (int) v[0]);
            break;
        case NativeEngine.EV_PEER_LEFT:
            l.onMainUserOffline(str, (int) v[0]);
            break;
        case NativeEngine.EV_PUBLISHED:
            l.onStreamPublished(str, 0);
            l.onMainFirstLocalVideoFrame((int) v[0], (int) v[1], (int) v[3]);
            l.onFirstLocalAudioFrame((int) v[3]);
            break;
        case NativeEngine.EV_FIRST_VIDEO:
            l.onMainFirstRemoteVideoFrame(str, (int) v[0], (int) v[1], (int) v[2]);
            l.onFirstRemoteVideoDecoded(str, (int) v[0], (int) v[1], (int) v[2]);
            l.onRemoteVideoStateChanged(str, ISDPVideoEngineListener.REMOTE_STATE_DECODING,
                    ISDPVideoEngineListener.REMOTE_REASON_INTERNAL, (int) v[2]);
            break;
        case NativeEngine.EV_FIRST_AUDIO:
            l.onFirstRemoteAudioFrame(str, (int) v[0]);
            l.onRemoteAudioStateChanged(str, ISDPVideoEngineListener.REMOTE_STATE_DECODING,
                    ISDPVideoEngineListener.REMOTE_REASON_INTERNAL, (int) v[0]);
            break;
        case NativeEngine.EV_PEER_MUTE: {
            int state = v[1] == 1 ? ISDPVideoEngineListener.REMOTE_STATE_STOPPED
                    : ISDPVideoEngineListener.REMOTE_STATE_DECODING;
            int reason = v[1] == 1 ? ISDPVideoEngineListener.REMOTE_REASON_REMOTE_MUTED
                    : ISDPVideoEngineListener.REMOTE_REASON_REMOTE_UNMUTED;
            if (v[0] == 1)
                l.onRemoteVideoStateChanged(str, state, reason, 0);
            else
                l.onRemoteAudioStateChanged(str, state, reason, 0);
            break;
        }
        case NativeEngine.EV_LEFT: {
            RtcStats s = rtcStats(v, 1);
            l.onMainLeaveChannel(s);
            l.onLeaveChannel(s);
            break;
        }
        case NativeEngine.EV_TOKEN_EXPIRING:
            l.onTokenPrivilegeWillExpire(tok);
            l.renewToken();
            break;
        case NativeEngine.EV_STATS: {
            RtcStats s = rtcStats(v, 0);
            l.onRtcStats(s);
            int q = quality(s.rxPackets, s.rxLostPackets);
            l.onNetworkQuality(me, q, q);
            l.onNetworkQualityNotify(me, q, q);
            for (RemoteVideoStats vs : videoStats)
                l.onRemoteVideoStats(vs);
            List<AudioVolumeInfo> speakers = new ArrayList<AudioVolumeInfo>();
            int total = 0;
            for (RemoteAudioStats as : audioStats) {
                l.onRemoteAudioStats(as);
                if (as.decodedFrames == 0)
                    continue; /* nothing decoded here: no level to report */
                AudioVolumeInfo vi = new AudioVolumeInfo();
                vi.uid = as.uid;
                vi.volume = as.volume;
                speakers.add(vi);
                total = Math.max(total, as.volume);
            }
            if (!speakers.isEmpty())
                l.onAudioVolumeIndication(speakers.toArray(new AudioVolumeInfo[0]), total);
            break;
        }
        default:
            break;
        }
    }

    private static boolean isEmpty(String s) {
        return s == null || s.length() == 0;
    }
}
