package android.media;

/** API stub (compiled against, never packaged): the part of Android's AudioTrack the SDK uses (API 21). */
public class AudioTrack {
    public static final int MODE_STREAM = 1;

    public AudioTrack(int streamType, int sampleRateInHz, int channelConfig, int audioFormat, int bufferSizeInBytes,
            int mode) {
        throw new UnsupportedOperationException("android.media.AudioTrack stub: not on Android");
    }

    public static int getMinBufferSize(int sampleRateInHz, int channelConfig, int audioFormat) {
        return 0;
    }

    public void play() {
    }

    public int write(byte[] audioData, int offsetInBytes, int sizeInBytes) {
        return 0;
    }

    public int setVolume(float gain) {
        return 0;
    }

    public void stop() {
    }

    public void release() {
    }
}
