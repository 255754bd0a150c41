package android.os;

/** API stub (compiled against, never packaged): Android's HandlerThread. */
public class HandlerThread extends Thread {
    public HandlerThread(String name) {
        super(name);
    }

    public Looper getLooper() {
        throw new UnsupportedOperationException("android.os.HandlerThread stub: not on Android");
    }

    public boolean quitSafely() {
        return false;
    }
}
