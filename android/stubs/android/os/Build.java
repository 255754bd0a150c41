package android.os;

/** API stub (compiled against, never packaged): Android's Build.VERSION. */
public class Build {
    public static class VERSION {
        /* Not a compile-time constant (Android's is read at run time): javac must not inline it. */
        public static final int SDK_INT = Integer.getInteger("android.sdk", 0).intValue();
    }
}
