package android.media;

/** API stub (compiled against, never packaged): the constant of Android's AudioManager the SDK uses. */
public final class AudioManager {
    public static final int STREAM_VOICE_CALL = 0;

    private AudioManager() {
    }
}
