package android.media;

import java.nio.ByteBuffer;

/** API stub (compiled against, never packaged): the part of Android's MediaFormat the SDK uses. */
public final class MediaFormat {
    public static final String MIMETYPE_VIDEO_VP8 = "video/x-vnd.on2.vp8";
    public static final String MIMETYPE_VIDEO_AVC = "video/avc";
    public static final String MIMETYPE_AUDIO_OPUS = "audio/opus";
    public static final String KEY_BIT_RATE = "bitrate";
    public static final String KEY_FRAME_RATE = "frame-rate";
    public static final String KEY_I_FRAME_INTERVAL = "i-frame-interval";
    public static final String KEY_COLOR_FORMAT = "color-format";

    private MediaFormat() {
    }

    public static MediaFormat createVideoFormat(String mime, int width, int height) {
        return new MediaFormat();
    }

    public static MediaFormat createAudioFormat(String mime, int sampleRate, int channelCount) {
        return new MediaFormat();
    }

    public void setInteger(String name, int value) {
    }

    public void setByteBuffer(String name, ByteBuffer bytes) {
    }
}
