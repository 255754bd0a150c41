package com.isdp.irtc;

import android.media.MediaCodec;

import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Android only (compiled, not run here): what the SDK's MediaCodec users
 * share — one codec driven by one thread of its own, input queued from byte
 * arrays, output either copied out (encoders, the audio decoder) or rendered
 * to the codec's surface (the video decoder), and a stop that ends the
 * thread before the codec is released.
 *
 * Threads: run() on the named thread; stop from any thread.
 */
abstract class CodecThread implements Runnable {
    protected final MediaCodec codec;
    private final Thread thread;
    private final MediaCodec.BufferInfo info = new MediaCodec.BufferInfo();
    private byte[] out = new byte[0];
    private volatile boolean running = true;

    CodecThread(MediaCodec codec, String name) {
        this.codec = codec;
        this.thread = new Thread(this, name);
    }

    /** Starts the codec, then the thread. */
    final void startThread() {
        codec.start();
        thread.start();
    }

    final boolean running() {
        return running;
    }

    /** Ends the thread (bounded wait), then stops and releases the codec and what released() frees. */
    final void stop() {
        running = false;
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            codec.stop();
        } catch (RuntimeException ignored) {
            /* already in error: release anyway */
        }
        codec.release();
        released();
    }

    /** After the codec is released: the subclass's own resources. */
    protected void released() {
    }

    /** A copied output buffer: data[0..length) at ptsUs with MediaCodec's BUFFER_FLAG_*.  Not called when rendering. */
    protected void output(byte[] data, int length, long ptsUs, int flags) {
    }

    /** Queues data[0..length) at ptsUs; false when no input buffer freed up within 20 ms (dropped). */
    protected final boolean feed(byte[] data, int length, long ptsUs) {
        int in = codec.dequeueInputBuffer(20000);
        if (in < 0)
            return false;
        ByteBuffer b = codec.getInputBuffer(in);
        b.clear();
        b.put(data, 0, length);
        codec.queueInputBuffer(in, 0, length, ptsUs, 0);
        return true;
    }

    /** Every output buffer ready (waiting at most timeoutUs for the first): to output(), or rendered. */
    protected final void drain(long timeoutUs, boolean render) {
        for (int i; (i = codec.dequeueOutputBuffer(info, timeoutUs)) >= 0; timeoutUs = 0) {
            ByteBuffer o = render ? null : codec.getOutputBuffer(i);
            if (o != null && info.size > 0) {
                if (out.length < info.size)
                    out = new byte[info.size];
                o.position(info.offset);
                o.get(out, 0, info.size);
                output(out, info.size, info.presentationTimeUs, info.flags);
            }
            codec.releaseOutputBuffer(i, render);
        }
    }

    /** A decoder's loop: frames from q, ptsStepUs apart, until stop(). */
    protected final void decodeQueue(BlockingQueue<byte[]> q, long ptsStepUs, boolean render) {
        long pts = 0;
        try {
            while (running) {
                byte[] f = q.poll(20, TimeUnit.MILLISECONDS);
                if (f != null && feed(f, f.length, pts))
                    pts += ptsStepUs;
                drain(0, render);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            /* the codec was stopped under us: the thread ends */
        }
    }
}
