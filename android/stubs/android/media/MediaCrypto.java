package android.media;

/** API stub (compiled against, never packaged): Android's MediaCrypto (only ever null here). */
public final class MediaCrypto {
    private MediaCrypto() {
    }
}
