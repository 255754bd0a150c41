package android.media;

/** API stub (compiled against, never packaged): the constants of Android's AudioFormat the SDK uses. */
public final class AudioFormat {
    public static final int ENCODING_PCM_16BIT = 2;
    public static final int CHANNEL_IN_MONO = 16;
    public static final int CHANNEL_OUT_STEREO = 12;

    private AudioFormat() {
    }
}
