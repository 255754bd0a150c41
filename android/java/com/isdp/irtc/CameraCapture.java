package com.isdp.irtc;

import android.content.Context;
import android.hardware.camera2.CameraAccessException;
import android.hardware.camera2.CameraCaptureSession;
import android.hardware.camera2.CameraDevice;
import android.hardware.camera2.CameraManager;
import android.hardware.camera2.CaptureRequest;
import android.os.Handler;
import android.os.HandlerThread;
import android.view.Surface;

import java.util.ArrayList;
import java.util.List;

/**
 * Android only (compiled against our API stubs, never run on the desktop):
 * the first camera through Camera2, repeating a record request into the
 * given surfaces (the video encoder's input surface, and the local preview's
 * when setupLocalVideo gave one).  The camera picks its output size from the
 * surfaces: resetResolution should name a size the camera supports.
 *
 * Threads: Camera2 calls back on "irtc-camera" (a HandlerThread of its own);
 * start and stop may be called from any thread.
 */
final class CameraCapture {
    private final Context context;
    private final List<Surface> targets;
    private HandlerThread thread;
    private CameraDevice camera;
    private CameraCaptureSession session;
    private volatile boolean stopped;

    CameraCapture(Context context, List<Surface> targets) {
        this.context = context;
        this.targets = new ArrayList<Surface>(targets);
    }

    /** false when there is no camera service or camera (no CAMERA permission: Camera2 throws, also false). */
    synchronized boolean start() {
        Object service = context.getSystemService(Context.CAMERA_SERVICE);
        if (!(service instanceof CameraManager) || targets.isEmpty())
            return false;
        CameraManager manager = (CameraManager) service;
        thread = new HandlerThread("irtc-camera");
        thread.start();
        Handler handler = new Handler(thread.getLooper());
        try {
            String[] ids = manager.getCameraIdList();
            if (ids.length == 0)
                return false;
            manager.openCamera(ids[0], new Opened(handler), handler);
            return true;
        } catch (CameraAccessException e) {
            return false;
        } catch (SecurityException e) {
            return false;
        }
    }

    synchronized void stop() {
        stopped = true;
        if (session != null)
            session.close();
        if (camera != null)
            camera.close();
        session = null;
        camera = null;
        if (thread != null)
            thread.quitSafely();
        thread = null;
    }

    private synchronized void opened(CameraDevice c, Handler handler) {
        if (stopped) {
            c.close();
            return;
        }
        camera = c;
        try {
            c.createCaptureSession(targets, new Configured(c, handler), handler);
        } catch (CameraAccessException e) {
            c.close();
            camera = null;
        }
    }

    private synchronized void configured(CameraCaptureSession s, CameraDevice c, Handler handler) {
        if (stopped) {
            s.close();
            return;
        }
        session = s;
        try {
            CaptureRequest.Builder b = c.createCaptureRequest(CameraDevice.TEMPLATE_RECORD);
            for (Surface t : targets)
                b.addTarget(t);
            s.setRepeatingRequest(b.build(), null, handler);
        } catch (CameraAccessException e) {
            s.close();
            session = null;
        }
    }

    private final class Opened extends CameraDevice.StateCallback {
        private final Handler handler;

        Opened(Handler handler) {
            this.handler = handler;
        }

        @Override
        public void onOpened(CameraDevice c) {
            opened(c, handler);
        }

        @Override
        public void onDisconnected(CameraDevice c) {
            c.close();
        }

        @Override
        public void onError(CameraDevice c, int error) {
            c.close();
        }
    }

    private final class Configured extends CameraCaptureSession.StateCallback {
        private final CameraDevice device;
        private final Handler handler;

        Configured(CameraDevice device, Handler handler) {
            this.device = device;
            this.handler = handler;
        }

        @Override
        public void onConfigured(CameraCaptureSession s) {
            configured(s, device, handler);
        }

        @Override
        public void onConfigureFailed(CameraCaptureSession s) {
            s.close();
        }
    }
}
