package android.media;

/** API stub (compiled against, never packaged): the constant of Android's MediaCodecInfo the SDK uses. */
public final class MediaCodecInfo {
    private MediaCodecInfo() {
    }

    public static final class CodecCapabilities {
        public static final int COLOR_FormatSurface = 0x7F000789;

        private CodecCapabilities() {
        }
    }
}
