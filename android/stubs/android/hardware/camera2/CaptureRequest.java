package android.hardware.camera2;

import android.view.Surface;

/** API stub (compiled against, never packaged): the part of Android's CaptureRequest the SDK uses. */
public final class CaptureRequest {
    public static final class Builder {
        public void addTarget(Surface outputTarget) {
        }

        public CaptureRequest build() {
            throw new UnsupportedOperationException("android.hardware.camera2 stub: not on Android");
        }
    }
}
