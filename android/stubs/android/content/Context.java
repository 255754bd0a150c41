package android.content;

/** API stub (compiled against, never packaged): the part of Android's Context the SDK uses. */
public abstract class Context {
    public static final String CAMERA_SERVICE = "camera";

    public Object getSystemService(String name) {
        return null;
    }
}
