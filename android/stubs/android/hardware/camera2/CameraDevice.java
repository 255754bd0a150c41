package android.hardware.camera2;

import android.os.Handler;
import android.view.Surface;

import java.util.List;

/** API stub (compiled against, never packaged): the part of Android's CameraDevice the SDK uses. */
public abstract class CameraDevice {
    public static final int TEMPLATE_RECORD = 3;

    public abstract CaptureRequest.Builder createCaptureRequest(int templateType) throws CameraAccessException;

    public abstract void createCaptureSession(List<Surface> outputs, CameraCaptureSession.StateCallback callback,
            Handler handler) throws CameraAccessException;

    public abstract void close();

    public abstract static class StateCallback {
        public abstract void onOpened(CameraDevice camera);

        public abstract void onDisconnected(CameraDevice camera);

        public abstract void onError(CameraDevice camera, int error);
    }
}
