package com.isdp.irtc;

import android.media.MediaCodec;
import android.media.MediaFormat;
import android.view.Surface;

import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Android only (compiled, not run here): one remote user's VP8 frames or
 * H.264 access units into MediaCodec's decoder, drawn into the Surface of the SurfaceView given to
 * setupRemoteVideo.  Starts at a keyframe; when the queue overflows (the
 * decoder is slower than the stream) it drops frames up to the next keyframe.
 *
 * Threads: offer() from the engine thread ("irtc-engine"); "irtc-vdec" feeds
 * the decoder and renders its output; stop from any thread.
 */
final class VideoDecoder extends CodecThread {
    private static final int QUEUE = 30;
    private final BlockingQueue<byte[]> frames = new ArrayBlockingQueue<byte[]>(QUEUE);
    private boolean waitKey = true; /* engine thread only */

    private VideoDecoder(MediaCodec codec, String uid) {
        super(codec, "irtc-vdec-" + uid);
    }

    /**
     * Started on surface for VP8 or H.264 (access units with start codes, SPS and PPS in band),
     * width x height from the first keyframe; null when the device has no such decoder.
     */
    static VideoDecoder start(Surface surface, String uid, boolean h264, int width, int height) {
        String mime = h264 ? MediaFormat.MIMETYPE_VIDEO_AVC : MediaFormat.MIMETYPE_VIDEO_VP8;
        MediaCodec c;
        try {
            c = MediaCodec.createDecoderByType(mime);
        } catch (IOException e) {
            return null;
        }
        try {
            /* 0 x 0 (an SPS that did not parse) still configures; the stream's size takes over. */
            c.configure(MediaFormat.createVideoFormat(mime, Math.max(width, 16), Math.max(height, 16)), surface, null, 0);
            VideoDecoder d = new VideoDecoder(c, uid);
            d.startThread();
            return d;
        } catch (RuntimeException e) {
            c.release();
            return null;
        }
    }

    void offer(byte[] frame, boolean keyFrame) {
        if (waitKey && !keyFrame)
            return;
        waitKey = !frames.offer(frame);
    }

    @Override
    public void run() {
        decodeQueue(frames, 66666, true); /* timestamps only order the frames: 15 fps nominal */
    }
}
