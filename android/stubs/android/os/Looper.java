package android.os;

/** API stub (compiled against, never packaged): Android's Looper. */
public final class Looper {
    private Looper() {
    }

    public static Looper getMainLooper() {
        throw new UnsupportedOperationException("android.os.Looper stub: not on Android");
    }
}
