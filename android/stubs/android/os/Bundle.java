package android.os;

/** API stub (compiled against, never packaged): Android's Bundle. */
public final class Bundle {
    public void putInt(String key, int value) {
    }
}
