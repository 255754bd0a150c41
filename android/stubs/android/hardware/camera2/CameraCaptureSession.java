package android.hardware.camera2;

import android.os.Handler;

/** API stub (compiled against, never packaged): the part of Android's CameraCaptureSession the SDK uses. */
public abstract class CameraCaptureSession {
    public abstract int setRepeatingRequest(CaptureRequest request, CaptureCallback listener, Handler handler)
            throws CameraAccessException;

    public abstract void close();

    public abstract static class StateCallback {
        public abstract void onConfigured(CameraCaptureSession session);

        public abstract void onConfigureFailed(CameraCaptureSession session);
    }

    public abstract static class CaptureCallback {
    }
}
