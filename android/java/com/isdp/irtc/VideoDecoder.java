package com.isdp.irtc;

import android.media.MediaCodec;
import android.media.MediaFormat;
import android.view.Surface;

import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Android only (compiled, not run here): one remote user's VP8 frames into
 * MediaCodec's decoder, drawn into the Surface of the SurfaceView given to
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

    /** Started on surface, width x height from the first keyframe; null when the device has no VP8 decoder. */
    static VideoDecoder start(Surface surface, String uid, int width, int height) {
        MediaCodec c;
        try {
            c = MediaCodec.createDecoderByType(MediaFormat.MIMETYPE_VIDEO_VP8);
        } catch (IOException e) {
            return null;
        }
        try {
            c.configure(MediaFormat.createVideoFormat(MediaFormat.MIMETYPE_VIDEO_VP8, width, height), surface, null, 0);
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
