package com.isdp.irtc;

import android.content.Context;
import android.view.Surface;
import android.view.SurfaceView;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Android only (compiled against our API stubs, never run on the desktop):
 * the engine's external media on a device.  Publishing: the camera
 * (CameraCapture) into the VP8 or H.264 encoder (VideoEncoder) and the local
 * preview's surface, the microphone into the Opus encoder (AudioEncoder),
 * both to RtcEngine.pushEncodedFrame.  Receiving: each remote user's frames
 * (EncodedFrameObserver) into a VideoDecoder drawing into the SurfaceView
 * setupRemoteVideo bound to that user (none: the video is not decoded) and
 * an AudioPlayer at that user's adjustPlaybackVolume volume.
 *
 * Threads: every method may be called from any thread (state under this
 * object's lock); the observer methods come on the engine thread; each
 * codec has its thread (see the classes).
 */
final class AndroidMedia implements EncodedFrameObserver {
    private static final int VIDEO_BITRATE = 1000000;
    private final Context context;
    private final RtcEngine engine;
    private SurfaceView localView;
    private final Map<String, SurfaceView> remoteViews = new HashMap<String, SurfaceView>();
    private final Map<String, VideoDecoder> decoders = new HashMap<String, VideoDecoder>();
    private final Map<String, AudioPlayer> players = new HashMap<String, AudioPlayer>();
    private final Map<String, Integer> volumes = new HashMap<String, Integer>();
    private CameraCapture camera;
    private VideoEncoder videoEncoder;
    private AudioEncoder audioEncoder;

    AndroidMedia(Context context, RtcEngine engine) {
        this.context = context;
        this.engine = engine;
    }

    synchronized void setLocalView(SurfaceView v) {
        localView = v;
    }

    synchronized void setRemoteView(String uid, SurfaceView v) {
        remoteViews.put(uid, v);
        VideoDecoder old = decoders.remove(uid); /* the next keyframe starts one on the new view */
        if (old != null)
            old.stop();
    }

    /**
     * Our publication is up: capture and encode.  Returns whether audio is
     * captured (false below API 29, or without a microphone).
     */
    synchronized boolean startPublishing(boolean h264, int width, int height, int fps) {
        stopPublishing();
        videoEncoder = VideoEncoder.start(engine, h264, width, height, fps, VIDEO_BITRATE);
        if (videoEncoder != null) {
            List<Surface> targets = new ArrayList<Surface>();
            targets.add(videoEncoder.inputSurface());
            Surface preview = localView == null ? null : localView.getHolder().getSurface();
            if (preview != null)
                targets.add(preview);
            camera = new CameraCapture(context, targets);
            if (!camera.start()) {
                camera.stop();
                camera = null;
            }
        }
        audioEncoder = AudioEncoder.start(engine);
        return audioEncoder != null;
    }

    synchronized void stopPublishing() {
        if (camera != null)
            camera.stop();
        if (videoEncoder != null)
            videoEncoder.stop();
        if (audioEncoder != null)
            audioEncoder.stop();
        camera = null;
        videoEncoder = null;
        audioEncoder = null;
    }

    synchronized void removeUser(String uid) {
        VideoDecoder d = decoders.remove(uid);
        if (d != null)
            d.stop();
        AudioPlayer p = players.remove(uid);
        if (p != null)
            p.stop();
    }

    synchronized void release() {
        stopPublishing();
        for (String uid : new ArrayList<String>(decoders.keySet()))
            removeUser(uid);
        for (String uid : new ArrayList<String>(players.keySet()))
            removeUser(uid);
    }

    /** adjustPlaybackVolume: 0..100 of what is received. */
    synchronized int setVolume(String uid, int volume) {
        volumes.put(uid, Integer.valueOf(volume));
        AudioPlayer p = players.get(uid);
        if (p != null)
            p.setVolume(volume);
        return 0;
    }

    @Override
    public synchronized void onRemoteEncodedFrame(String uid, boolean video, boolean h264, boolean keyFrame, int width,
            int height, long rtpTimestamp, byte[] data) {
        if (video) {
            VideoDecoder d = decoders.get(uid);
            SurfaceView v = remoteViews.get(uid);
            Surface s = v == null ? null : v.getHolder().getSurface();
            if (d == null && keyFrame && s != null) {
                d = VideoDecoder.start(s, uid, h264, width, height);
                if (d != null)
                    decoders.put(uid, d);
            }
            if (d != null)
                d.offer(data, keyFrame);
            return;
        }
        if (!players.containsKey(uid)) {
            Integer vol = volumes.get(uid);
            /* null when the device cannot decode Opus: not tried again for this user */
            players.put(uid, AudioPlayer.start(uid, vol == null ? 100 : vol.intValue()));
        }
        AudioPlayer p = players.get(uid);
        if (p != null)
            p.offer(data);
    }

    @Override
    public synchronized void onKeyFrameRequested() {
        if (videoEncoder != null)
            videoEncoder.requestKeyFrame();
    }
}
