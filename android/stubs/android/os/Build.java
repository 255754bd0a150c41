package android.os;

/** API stub (compiled against, never packaged): Android's Build.VERSION. */
public class Build {
    public static class VERSION {
        public static final int SDK_INT = 0;
    }
}
