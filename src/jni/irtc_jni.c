/*
 * irtc_jni.c — the JNI layer of the Android SDK: com.isdp.irtc.NativeEngine's
 * native methods over engine.h, and the engine's events handed to
 * NativeEngine.onNativeEvent(int, String, long[]); with external media, every
 * received encoded frame handed to NativeEngine.onNativeFrame.
 *
 * Threads: the native methods run on the caller's thread and only queue
 * work (engine.h); onNativeEvent is called on the engine thread, attached to
 * the VM as a daemon thread at its first event and detached when it ends.
 * The Java side moves each event to the app's callback thread.  A handle is
 * the engine's address, valid until nativeDestroy.
 *
 * Does not: hold any state of its own beyond one context per engine.
 */
#include <jni.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "jni/engine.h"

typedef struct {
    JavaVM *vm;
    jobject self; /* global reference to the NativeEngine */
    jmethodID on_event, on_frame;
    JNIEnv *env; /* the engine thread's, once attached */
    irtc_engine_t *engine;
} jctx_t;

static JNIEnv *engine_env(jctx_t *x)
{
    if (x->env == NULL) {
        JavaVMAttachArgs args = {JNI_VERSION_1_6, (char *)"irtc-engine", NULL};
#ifdef __ANDROID__
        if ((*x->vm)->AttachCurrentThreadAsDaemon(x->vm, &x->env, &args) != JNI_OK)
#else
        if ((*x->vm)->AttachCurrentThreadAsDaemon(x->vm, (void **)&x->env, &args) != JNI_OK)
#endif
            x->env = NULL;
    }
    return x->env;
}

static void on_event(void *user, const irtc_event_t *ev)
{
    jctx_t *x = user;
    JNIEnv *env = engine_env(x);
    if (env == NULL)
        return;
    jstring str = ev->str != NULL ? (*env)->NewStringUTF(env, ev->str) : NULL;
    jlongArray v = (*env)->NewLongArray(env, (jsize)IRTC_ARRAY_SIZE(ev->v));
    if (v != NULL) {
        jlong tmp[IRTC_ARRAY_SIZE(ev->v)];
        for (size_t k = 0; k < IRTC_ARRAY_SIZE(ev->v); k++)
            tmp[k] = (jlong)ev->v[k];
        (*env)->SetLongArrayRegion(env, v, 0, (jsize)IRTC_ARRAY_SIZE(ev->v), tmp);
        (*env)->CallVoidMethod(env, x->self, x->on_event, (jint)ev->type, str, v);
    }
    /* An exception thrown by the handler must not poison the next call. */
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    if (str != NULL)
        (*env)->DeleteLocalRef(env, str);
    if (v != NULL)
        (*env)->DeleteLocalRef(env, v);
}

static void on_frame(void *user, const char *user_id, const ic_frame_t *f)
{
    jctx_t *x = user;
    JNIEnv *env = engine_env(x);
    if (env == NULL || f->bytes > INT32_MAX)
        return;
    jstring u = (*env)->NewStringUTF(env, user_id);
    jbyteArray data = (*env)->NewByteArray(env, (jsize)f->bytes);
    if (u != NULL && data != NULL) {
        (*env)->SetByteArrayRegion(env, data, 0, (jsize)f->bytes, (const jbyte *)f->data);
        (*env)->CallVoidMethod(env, x->self, x->on_frame, u, (jboolean)f->video, (jboolean)f->h264, (jboolean)f->keyframe,
                               (jint)f->width, (jint)f->height, (jlong)f->rtp_ts, data);
    }
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    if (u != NULL)
        (*env)->DeleteLocalRef(env, u);
    if (data != NULL)
        (*env)->DeleteLocalRef(env, data);
}

static void on_thread_exit(void *user)
{
    jctx_t *x = user;
    if (x->env != NULL)
        (*x->vm)->DetachCurrentThread(x->vm);
    x->env = NULL;
}

static jctx_t *ctx(jlong h)
{
    return (jctx_t *)(intptr_t)h;
}

/* A Java string as a C string (NULL for null); release with put_str. */
static const char *get_str(JNIEnv *env, jstring s)
{
    return s != NULL ? (*env)->GetStringUTFChars(env, s, NULL) : NULL;
}

static void put_str(JNIEnv *env, jstring s, const char *c)
{
    if (s != NULL && c != NULL)
        (*env)->ReleaseStringUTFChars(env, s, c);
}

JNIEXPORT jlong JNICALL Java_com_isdp_irtc_NativeEngine_nativeCreate(JNIEnv *env, jobject self)
{
    jctx_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return 0;
    jclass cls = (*env)->GetObjectClass(env, self);
    x->on_event = (*env)->GetMethodID(env, cls, "onNativeEvent", "(ILjava/lang/String;[J)V");
    x->on_frame = x->on_event ? (*env)->GetMethodID(env, cls, "onNativeFrame", "(Ljava/lang/String;ZZZIIJ[B)V") : NULL;
    if (x->on_frame == NULL || (*env)->GetJavaVM(env, &x->vm) != 0) {
        free(x);
        return 0; /* NoSuchMethodError pending */
    }
    x->self = (*env)->NewGlobalRef(env, self);
    char err[256] = "";
    irtc_engine_callbacks_t cb = {on_event, on_thread_exit, on_frame};
    x->engine = irtc_engine_new(&cb, x, err, sizeof(err));
    if (x->engine == NULL) {
        (*env)->DeleteGlobalRef(env, x->self);
        free(x);
        jclass ex = (*env)->FindClass(env, "java/lang/IllegalStateException");
        if (ex != NULL)
            (*env)->ThrowNew(env, ex, err[0] ? err : "cannot create the media engine");
        return 0;
    }
    return (jlong)(intptr_t)x;
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeDestroy(JNIEnv *env, jobject self, jlong h)
{
    (void)self;
    jctx_t *x = ctx(h);
    if (x == NULL)
        return;
    irtc_engine_free(x->engine);
    (*env)->DeleteGlobalRef(env, x->self);
    free(x);
}

JNIEXPORT jint JNICALL Java_com_isdp_irtc_NativeEngine_nativeJoin(JNIEnv *env, jobject self, jlong h, jstring host,
                                                                  jint port, jstring app, jstring channel, jstring user,
                                                                  jstring token, jint role)
{
    (void)self;
    irtc_join_t j = {.host = get_str(env, host),
                     .port = (uint16_t)(port > 0 && port < 65536 ? port : 0),
                     .app_id = get_str(env, app),
                     .channel_id = get_str(env, channel),
                     .user_id = get_str(env, user),
                     .token = get_str(env, token),
                     .role = role};
    int rc = irtc_engine_join(ctx(h)->engine, &j);
    put_str(env, host, j.host);
    put_str(env, app, j.app_id);
    put_str(env, channel, j.channel_id);
    put_str(env, user, j.user_id);
    put_str(env, token, j.token);
    return rc;
}

JNIEXPORT jint JNICALL Java_com_isdp_irtc_NativeEngine_nativeLeave(JNIEnv *env, jobject self, jlong h)
{
    (void)env, (void)self;
    return irtc_engine_leave(ctx(h)->engine);
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeSetLocal(JNIEnv *env, jobject self, jlong h,
                                                                      jboolean video, jboolean enabled)
{
    (void)env, (void)self;
    irtc_engine_set_local(ctx(h)->engine, video, enabled);
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeSetResolution(JNIEnv *env, jobject self, jlong h,
                                                                           jint width, jint height, jint fps)
{
    (void)env, (void)self;
    irtc_engine_set_resolution(ctx(h)->engine, (unsigned)width, (unsigned)height, (unsigned)fps);
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeSetRemote(JNIEnv *env, jobject self, jlong h,
                                                                       jstring user, jboolean video, jboolean receive)
{
    (void)self;
    const char *u = get_str(env, user);
    irtc_engine_set_remote(ctx(h)->engine, u, video, receive);
    put_str(env, user, u);
}

JNIEXPORT jint JNICALL Java_com_isdp_irtc_NativeEngine_nativeRenew(JNIEnv *env, jobject self, jlong h, jstring token)
{
    (void)self;
    const char *t = get_str(env, token);
    int rc = irtc_engine_renew(ctx(h)->engine, t);
    put_str(env, token, t);
    return rc;
}

/* {video frames, video bytes, keyframes, audio frames, width, height, decoded frames, decoded width, decoded
 * height, decode errors, audio decoded, audio level}, or null. */
JNIEXPORT jlongArray JNICALL Java_com_isdp_irtc_NativeEngine_nativeFrames(JNIEnv *env, jobject self, jlong h,
                                                                          jstring user)
{
    (void)self;
    const char *u = get_str(env, user);
    irtc_frames_t f;
    bool found = u != NULL && irtc_engine_frames(ctx(h)->engine, u, &f);
    put_str(env, user, u);
    if (!found)
        return NULL;
    jlong v[12] = {(jlong)f.video_frames,   (jlong)f.video_bytes,   (jlong)f.keyframes,      (jlong)f.audio_frames,
                   f.width,                 f.height,               (jlong)f.decoded_frames, f.decoded_width,
                   f.decoded_height,        (jlong)f.decode_errors, (jlong)f.audio_decoded,  f.audio_level};
    jlongArray out = (*env)->NewLongArray(env, 12);
    if (out != NULL)
        (*env)->SetLongArrayRegion(env, out, 0, 12, v);
    return out;
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeSetH264(JNIEnv *env, jobject self, jlong h, jboolean h264)
{
    (void)env, (void)self;
    irtc_engine_set_h264(ctx(h)->engine, h264);
}

JNIEXPORT void JNICALL Java_com_isdp_irtc_NativeEngine_nativeSetExternal(JNIEnv *env, jobject self, jlong h,
                                                                         jboolean external)
{
    (void)env, (void)self;
    irtc_engine_set_external(ctx(h)->engine, external);
}

/* One encoded frame of the app's encoder: data[0..len). */
JNIEXPORT jint JNICALL Java_com_isdp_irtc_NativeEngine_nativeSendFrame(JNIEnv *env, jobject self, jlong h,
                                                                       jboolean video, jlong pts_us, jbyteArray data,
                                                                       jint len)
{
    (void)self;
    if (data == NULL || len <= 0 || len > (*env)->GetArrayLength(env, data))
        return 200006; /* ERR_INVALID_CONNECT_PARAMETER, as the engine answers */
    /* Not a critical region: the engine takes its queue's lock while copying. */
    jbyte *p = (*env)->GetByteArrayElements(env, data, NULL);
    if (p == NULL)
        return 200020; /* ERR_MEM_NOT_ENOUGH (OutOfMemoryError pending) */
    int rc = irtc_engine_send_frame(ctx(h)->engine, video, (uint64_t)pts_us, (const uint8_t *)p, (size_t)len);
    (*env)->ReleaseByteArrayElements(env, data, p, JNI_ABORT);
    return rc;
}
