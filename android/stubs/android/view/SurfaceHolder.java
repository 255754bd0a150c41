package android.view;

/** API stub (compiled against, never packaged): the part of Android's SurfaceHolder the SDK uses. */
public interface SurfaceHolder {
    Surface getSurface();
}
