package android.text;

/** API stub (compiled against, never packaged): Android's TextUtils, which the guide's sample uses. */
public final class TextUtils {
    private TextUtils() {
    }

    public static boolean isEmpty(CharSequence s) {
        return s == null || s.length() == 0;
    }
}
