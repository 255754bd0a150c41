package com.isdp.irtc;

import android.media.MediaCodec;
import android.media.MediaCodecInfo;
import android.media.MediaFormat;
import android.os.Bundle;
import android.view.Surface;

import java.io.IOException;

/**
 * Android only (compiled, not run here): MediaCodec's VP8 encoder fed by its
 * input surface (the camera draws into it); every encoded frame goes to
 * RtcEngine.pushEncodedFrame.  VP8 because that is what the engine's offer
 * negotiates.
 *
 * Threads: "irtc-venc" drains the encoder; requestKeyFrame and stop from any thread.
 */
final class VideoEncoder extends CodecThread {
    private static final long DRAIN_TIMEOUT_US = 10000;
    private final RtcEngine engine;
    private final Surface input;

    private VideoEncoder(RtcEngine engine, MediaCodec codec) {
        super(codec, "irtc-venc");
        this.engine = engine;
        this.input = codec.createInputSurface();
    }

    /** An encoder of width x height at fps and bitrate, started; null when the device has no VP8 encoder. */
    static VideoEncoder start(RtcEngine engine, int width, int height, int fps, int bitrate) {
        MediaCodec c;
        try {
            c = MediaCodec.createEncoderByType(MediaFormat.MIMETYPE_VIDEO_VP8);
        } catch (IOException e) {
            return null;
        }
        MediaFormat f = MediaFormat.createVideoFormat(MediaFormat.MIMETYPE_VIDEO_VP8, width, height);
        f.setInteger(MediaFormat.KEY_COLOR_FORMAT, MediaCodecInfo.CodecCapabilities.COLOR_FormatSurface);
        f.setInteger(MediaFormat.KEY_BIT_RATE, bitrate);
        f.setInteger(MediaFormat.KEY_FRAME_RATE, fps);
        f.setInteger(MediaFormat.KEY_I_FRAME_INTERVAL, 3);
        try {
            c.configure(f, null, null, MediaCodec.CONFIGURE_FLAG_ENCODE);
            VideoEncoder e = new VideoEncoder(engine, c);
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

    @Override
    protected void output(byte[] data, int length, long ptsUs) {
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
