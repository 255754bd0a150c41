package android.os;

/** API stub (compiled against, never packaged): Android's Handler. */
public class Handler {
    public Handler(Looper looper) {
        throw new UnsupportedOperationException("android.os.Handler stub: not on Android");
    }

    public final boolean post(Runnable r) {
        throw new UnsupportedOperationException("android.os.Handler stub: not on Android");
    }
}
