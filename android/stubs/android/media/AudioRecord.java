package android.media;

/** API stub (compiled against, never packaged): the part of Android's AudioRecord the SDK uses. */
public class AudioRecord {
    public static final int STATE_INITIALIZED = 1;

    public AudioRecord(int audioSource, int sampleRateInHz, int channelConfig, int audioFormat, int bufferSizeInBytes) {
        throw new UnsupportedOperationException("android.media.AudioRecord stub: not on Android");
    }

    public static int getMinBufferSize(int sampleRateInHz, int channelConfig, int audioFormat) {
        return 0;
    }

    public int getState() {
        return 0;
    }

    public void startRecording() {
    }

    public int read(byte[] audioData, int offsetInBytes, int sizeInBytes) {
        return 0;
    }

    public void stop() {
    }

    public void release() {
    }
}
