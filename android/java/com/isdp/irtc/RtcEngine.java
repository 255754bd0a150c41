package com.isdp.irtc;

import android.content.Context;
import android.view.SurfaceView;

/**
 * The engine of guide §7.2.4.1: the 25 methods of table 7.2.4.1-1 and the
 * sample's startPreview.  Methods returning int return 0 or an
 * {@link ISDPRtcErrorCode}; they only queue work, outcomes arrive through
 * the {@link ISDPVideoEngineListener}.  docs/ANDROID.md records where the
 * guide contradicts itself and which form is implemented.
 */
public abstract class RtcEngine {
    public abstract void createVideo(Context mContext, String id, ISDPVideoEngineListener listener);

    public abstract void onDestroy();

    /** The sample's form: {@code joinChannel(channelId, token, "", userId, appId, null)}. */
    public abstract int joinChannel(String channelId, String token, String info, String userId, String appId,
            ISDPVideoEngineListener listener);

    /** The declared form; the appId is createVideo's. */
    public abstract int joinChannel(String channelId, String token, String info, String userId,
            ChannelMediaOptions mediaOptions, ISDPVideoEngineListener listener);

    public abstract int leaveChannel();

    public abstract int leaveSubChannel(String channelId);

    public abstract int renewToken(String token);

    public abstract SurfaceView createRendererView(Context context);

    public abstract SurfaceView createSubRendererView(Context context, String userId);

    public abstract int setupLocalVideo(SurfaceView view, int renderMode, String userId);

    public abstract int setupRemoteVideo(SurfaceView view, int renderMode, String channel, String userId);

    public abstract void resetResolution(int width, int height, int framerate);

    public abstract int setPlayCoding(String codec);

    public abstract int setTransCoding(String codec);

    public abstract int setResolutionMode(int mode);

    public abstract int enableVideo();

    public abstract int enableLocalVideo(boolean enabled);

    public abstract int disableVideo();

    public abstract int muteRemoteVideoStream(String userId, boolean muted);

    public abstract int muteAllRemoteVideoStreams(boolean muted);

    public abstract int enableAudio();

    public abstract int enableLocalAudio(boolean enabled);

    public abstract int disableAudio();

    public abstract int muteLocalAudioStream(boolean muted);

    public abstract int muteAllRemoteAudioStreams(boolean muted);

    public abstract int adjustPlaybackVolume(String userId, int volume);

    /** The sample's preview step (after setupLocalVideo). */
    public abstract int startPreview(String channelId);

    /**
     * Not in the guide: the in-memory frame sink of a remote user (frames
     * reassembled from RTP), or null when nothing of that user is received.
     */
    public abstract RemoteVideoStats getRemoteFrameStats(String userId);

    /**
     * Not in the guide: external media.  With an observer, the next publication
     * sends only what pushEncodedFrame hands over and received frames go to the
     * observer undecoded; null returns to the engine's own media (on the
     * desktop build: the FFmpeg test pattern, tone and decoders).  Call before
     * joinChannel.  0, or ERR_NOT_INITIALIZED.
     */
    public abstract int setExternalMedia(EncodedFrameObserver observer);

    /**
     * Not in the guide: one frame of the app's encoder, for external media: a
     * whole VP8 frame, or an H.264 access unit with start codes after
     * setTransCoding("H264") (video; SPS and PPS before each IDR), or one
     * Opus packet of 20 ms, data[0..length),
     * captured at ptsUs (microseconds, any monotonic clock).  Dropped until the
     * publication is up.  0, ERR_INVALID_CONNECT_PARAMETER (empty, over 4 MiB)
     * or ERR_NOT_INITIALIZED.
     */
    public abstract int pushEncodedFrame(boolean video, long ptsUs, byte[] data, int length);
}
