package android.hardware.camera2;

import android.os.Handler;

/** API stub (compiled against, never packaged): the part of Android's CameraManager the SDK uses. */
public abstract class CameraManager {
    public abstract String[] getCameraIdList() throws CameraAccessException;

    public abstract void openCamera(String cameraId, CameraDevice.StateCallback callback, Handler handler)
            throws CameraAccessException;
}
