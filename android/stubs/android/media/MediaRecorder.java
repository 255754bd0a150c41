package android.media;

/** API stub (compiled against, never packaged): Android's MediaRecorder.AudioSource. */
public final class MediaRecorder {
    private MediaRecorder() {
    }

    public static final class AudioSource {
        public static final int VOICE_COMMUNICATION = 7;

        private AudioSource() {
        }
    }
}
