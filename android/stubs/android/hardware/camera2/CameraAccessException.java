package android.hardware.camera2;

/** API stub (compiled against, never packaged). */
public class CameraAccessException extends Exception {
    private static final long serialVersionUID = 1L;
}
