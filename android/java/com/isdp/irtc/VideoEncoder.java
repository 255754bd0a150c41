package com.isdp.irtc;

import android.media.MediaCodec;
import android.media.MediaCodecInfo;
import android.media.MediaFormat;
import android.os.Bundle;
import android.view.Surface;

import java.io.IOException;

/**
 * Android only (compiled, not run here): MediaCodec's VP8 or H.264 encoder
 * (setTransCoding) fed by its input surface (the camera draws into it);
 * every encoded frame goes to RtcEngine.pushEncodedFrame, an H.264 IDR with
 * the SPS and PPS before it.
 *
 * Threads: "irtc-venc" drains the encoder; requestKeyFrame and stop from any thread.
 */
final class VideoEncoder extends CodecThread {
    private static final long DRAIN_TIMEOUT_US = 10000;
    private final RtcEngine engine;
    private final Surface input;
    private final boolean h264;
    private byte[] config = new byte[0]; /* H.264: SPS and PPS (this thread only) */

    private VideoEncoder(RtcEngine engine, MediaCodec codec, boolean h264) {
        super(codec, "irtc-venc");
        this.engine = engine;
        this.input = codec.createInputSurface();
        this.h264 = h264;
    }

    /** An encoder of width x height at fps and bitrate, started; null when the device has no such encoder. */
    static VideoEncoder start(RtcEngine engine, boolean h264, int width, int height, int fps, int bitrate) {
        String mime = h264 ? MediaFormat.MIMETYPE_VIDEO_AVC : MediaFormat.MIMETYPE_VIDEO_VP8;
        MediaCodec c;
        try {
            c = MediaCodec.createEncoderByType(mime);
        } catch (IOException e) {
            return null;
        }
        MediaFormat f = MediaFormat.createVideoFormat(mime, width, height);
        f.setInteger(MediaFormat.KEY_COLOR_FORMAT, MediaCodecInfo.CodecCapabilities.COLOR_FormatSurface);
        f.setInteger(MediaFormat.KEY_BIT_RATE, bitrate);
        f.setInteger(MediaFormat.KEY_FRAME_RATE, fps);
        f.setInteger(MediaFormat.KEY_I_FRAME_INTERVAL, 3);
        try {
            c.configure(f, null, null, MediaCodec.CONFIGURE_FLAG_ENCODE);
            VideoEncoder e = new VideoEncoder(engine, c, h264);
            e.startThread();
            return e;
        } catch (RuntimeException ex) {
            c.release();
            return null;
        }
    }

    /** Where the camera draws. */
    Surface inputSurface() {
        return input;
    }

    void requestKeyFrame() {
        Bundle b = new Bundle();
        b.putInt(MediaCodec.PARAMETER_KEY_REQUEST_SYNC_FRAME, 0);
        try {
            codec.setParameters(b);
        } catch (RuntimeException ignored) {
            /* stopped meanwhile */
        }
    }

    @Override
    protected void released() {
        input.release();
    }

    /*
     * MediaCodec's H.264 encoder gives SPS and PPS once, as codec config: they go
     * before every IDR, so that a receiver joining later (or after a PLI) can decode.
     */
    @Override
    protected void output(byte[] data, int length, long ptsUs, int flags) {
        if ((flags & MediaCodec.BUFFER_FLAG_CODEC_CONFIG) != 0) {
            config = new byte[length];
            System.arraycopy(data, 0, config, 0, length);
            return;
        }
        if (h264 && (flags & MediaCodec.BUFFER_FLAG_KEY_FRAME) != 0 && config.length > 0) {
            byte[] au = new byte[config.length + length];
            System.arraycopy(config, 0, au, 0, config.length);
            System.arraycopy(data, 0, au, config.length, length);
            engine.pushEncodedFrame(true, ptsUs, au, au.length);
            return;
        }
        engine.pushEncodedFrame(true, ptsUs, data, length); /* copied by the engine */
    }

    @Override
    public void run() {
        try {
            while (running())
                drain(DRAIN_TIMEOUT_US, false);
        } catch (RuntimeException e) {
            /* the codec was stopped under us: the thread ends */
        }
    }
}
