package com.isdp.irtc;

/**
 * The JNI boundary (src/jni/irtc_jni.c): one native engine, its thread and
 * the C client core under it.  Native methods only queue work; events come
 * back through onNativeEvent on the engine thread and go to the sink,
 * which moves them to the app's callback thread.
 */
final class NativeEngine {
    /** Event types: src/jni/engine.h irtc_event_type_t. */
    static final int EV_CONN_STATE = 1, EV_JOINED = 2, EV_ERROR = 3, EV_PEER_JOINED = 4, EV_PEER_LEFT = 5,
            EV_PUBLISHED = 6, EV_FIRST_VIDEO = 7, EV_FIRST_AUDIO = 8, EV_PEER_MUTE = 9, EV_LEFT = 10,
            EV_TOKEN_EXPIRING = 11, EV_STATS = 12, EV_REJOINED = 13, EV_KEYFRAME_REQUEST = 14;

    interface Sink {
        void onEvent(int type, String str, long[] v);
    }

    private static boolean loaded;
    private static Throwable loadError;

    /** libirtc.so in the AAR on Android; libirtc-jni.so (or -Dirtc.jni.path) on the desktop. */
    static synchronized boolean load() {
        if (loaded)
            return true;
        try {
            String path = System.getProperty("irtc.jni.path");
            if (path != null && path.length() > 0)
                System.load(path);
            else if (System.getProperty("java.vm.name", "").contains("Dalvik"))
                System.loadLibrary("irtc");
            else
                System.loadLibrary("irtc-jni");
            loaded = true;
        } catch (Throwable t) {
            loadError = t;
        }
        return loaded;
    }

    static synchronized Throwable loadError() {
        return loadError;
    }

    private final Sink sink;
    /* External media's observer; read on the engine thread. */
    private volatile EncodedFrameObserver frameObserver;
    /* Set before the engine thread starts, cleared after it has ended. */
    private volatile long handle;

    NativeEngine(Sink sink) {
        this.sink = sink;
        handle = nativeCreate();
    }

    boolean valid() {
        return handle != 0;
    }

    synchronized void destroy() {
        if (handle != 0)
            nativeDestroy(handle);
        handle = 0;
    }

    synchronized int join(String host, int port, String appId, String channel, String user, String token, int role) {
        return handle == 0 ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED
                : nativeJoin(handle, host, port, appId, channel, user, token, role);
    }

    synchronized int leave() {
        return handle == 0 ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED : nativeLeave(handle);
    }

    synchronized void setLocal(boolean video, boolean enabled) {
        if (handle != 0)
            nativeSetLocal(handle, video, enabled);
    }

    synchronized void setResolution(int w, int h, int fps) {
        if (handle != 0)
            nativeSetResolution(handle, w, h, fps);
    }

    synchronized void setRemote(String user, boolean video, boolean receive) {
        if (handle != 0)
            nativeSetRemote(handle, user, video, receive);
    }

    synchronized int renew(String token) {
        return handle == 0 ? ISDPRtcErrorCode.ERR_NOT_INITIALIZED : nativeRenew(handle, token);
    }

    synchronized void setH264(boolean h264) {
        if (handle != 0)
            nativeSetH264(handle, h264);
    }

    synchronized int setExternal(EncodedFrameObserver o) {
        if (handle == 0)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        frameObserver = o;
        nativeSetExternal(handle, o != null);
        return 0;
    }

    /** From the app's encoder threads (never the engine thread, which destroy() waits for under this lock). */
    synchronized int sendFrame(boolean video, long ptsUs, byte[] data, int length) {
        if (handle == 0)
            return ISDPRtcErrorCode.ERR_NOT_INITIALIZED;
        if (data == null || length <= 0 || length > data.length)
            return ISDPRtcErrorCode.ERR_INVALID_CONNECT_PARAMETER;
        return nativeSendFrame(handle, video, ptsUs, data, length);
    }

    synchronized long[] frames(String user) {
        return handle == 0 ? null : nativeFrames(handle, user);
    }

    /**
     * frames() for the engine thread's own events: without this object's
     * lock, which destroy() holds while it waits for that thread to end (the
     * handle stays valid until then).
     */
    long[] framesOnEngineThread(String user) {
        long h = handle;
        return h == 0 ? null : nativeFrames(h, user);
    }

    /** Called by the native engine thread. */
    @SuppressWarnings("unused")
    private void onNativeEvent(int type, String str, long[] v) {
        if (type == EV_KEYFRAME_REQUEST) {
            EncodedFrameObserver o = frameObserver;
            if (o != null)
                o.onKeyFrameRequested();
            return;
        }
        sink.onEvent(type, str, v);
    }

    /** Called by the native engine thread with external media. */
    @SuppressWarnings("unused")
    private void onNativeFrame(String user, boolean video, boolean h264, boolean key, int width, int height, long ts,
            byte[] data) {
        EncodedFrameObserver o = frameObserver;
        if (o != null)
            o.onRemoteEncodedFrame(user, video, h264, key, width, height, ts, data);
    }

    private native long nativeCreate();

    private native void nativeSetExternal(long h, boolean external);

    private native void nativeSetH264(long h, boolean h264);

    private native int nativeSendFrame(long h, boolean video, long ptsUs, byte[] data, int length);

    private native void nativeDestroy(long h);

    private native int nativeJoin(long h, String host, int port, String appId, String channel, String user,
            String token, int role);

    private native int nativeLeave(long h);

    private native void nativeSetLocal(long h, boolean video, boolean enabled);

    private native void nativeSetResolution(long h, int width, int height, int fps);

    private native void nativeSetRemote(long h, String user, boolean video, boolean receive);

    private native int nativeRenew(long h, String token);

    private native long[] nativeFrames(long h, String user);
}
