package android.media;

import android.os.Bundle;
import android.view.Surface;

import java.io.IOException;
import java.nio.ByteBuffer;

/** API stub (compiled against, never packaged): the part of Android's MediaCodec the SDK uses (API 21 methods). */
public final class MediaCodec {
    public static final int CONFIGURE_FLAG_ENCODE = 1;
    public static final int BUFFER_FLAG_KEY_FRAME = 1;
    public static final int BUFFER_FLAG_CODEC_CONFIG = 2;
    public static final int INFO_TRY_AGAIN_LATER = -1;
    public static final String PARAMETER_KEY_REQUEST_SYNC_FRAME = "request-sync";

    public static final class BufferInfo {
        public int flags, offset, size;
        public long presentationTimeUs;
    }

    private MediaCodec() {
    }

    private static MediaCodec stub() throws IOException {
        throw new IOException("android.media.MediaCodec stub: not on Android");
    }

    public static MediaCodec createEncoderByType(String type) throws IOException {
        return stub();
    }

    public static MediaCodec createDecoderByType(String type) throws IOException {
        return stub();
    }

    public void configure(MediaFormat format, Surface surface, MediaCrypto crypto, int flags) {
    }

    public Surface createInputSurface() {
        return null;
    }

    public void start() {
    }

    public void stop() {
    }

    public void release() {
    }

    public int dequeueInputBuffer(long timeoutUs) {
        return INFO_TRY_AGAIN_LATER;
    }

    public ByteBuffer getInputBuffer(int index) {
        return null;
    }

    public void queueInputBuffer(int index, int offset, int size, long presentationTimeUs, int flags) {
    }

    public int dequeueOutputBuffer(BufferInfo info, long timeoutUs) {
        return INFO_TRY_AGAIN_LATER;
    }

    public ByteBuffer getOutputBuffer(int index) {
        return null;
    }

    public void releaseOutputBuffer(int index, boolean render) {
    }

    public void setParameters(Bundle params) {
    }
}
