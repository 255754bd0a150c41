package com.isdp.irtc.test;

import android.content.Context;
import android.text.TextUtils;
import android.view.SurfaceView;

import com.isdp.irtc.CreateVideoEngine;
import com.isdp.irtc.EngineType;
import com.isdp.irtc.RtcEngine;
import com.isdp.irtc.VideoCanvas;

/**
 * Guide §7.2.2's sample as an app would write it, steps 1 and 3–6 unchanged
 * (Android types from our stubs; the listener of step 2 is the Recorder).
 * The only line not from the guide: joinChannel's info names irtcd's HTTPS
 * address, which the sample leaves "" (docs/ANDROID.md).
 */
class GuideSample {
    static final class VideoSDKLogger {
        static void info(String tag, String msg) {
            System.out.println("# " + tag + ": " + msg);
        }
    }

    private final String tag = "GuideSample";
    private final Context mContext = new Context() {
    };
    private final String appId;
    private final String info;
    RtcEngine mRtcEngine;
    final Recorder videoEngineListener = new Recorder();

    GuideSample(String appId, String info) {
        this.appId = appId;
        this.info = info;
    }

    private void ensureEngineCreated() {
        try {
            mRtcEngine = new CreateVideoEngine().create(mContext, EngineType.ISDP);   //创建引擎
            mRtcEngine.createVideo(mContext, appId,
                    videoEngineListener);    //初始化引擎对象
        } catch (Exception e) {
            VideoSDKLogger.info(tag, "create failed: " + e);
        }
    }

    public void joinChannel(String channelId, final String token, String userId) {
        if (TextUtils.isEmpty(channelId)) {
            return;
        }
        if (mRtcEngine == null) {
            VideoSDKLogger.info(tag, "joinChannelWithRtcChannel  rtcEngine is null:");
            return;
        }
        mRtcEngine.joinChannel(channelId, token, info, userId, appId, null);
    }

    public final void preview(SurfaceView view, String channelId, String userId) {
        if (mRtcEngine == null)
            ensureEngineCreated();
        if (mRtcEngine != null) {
            mRtcEngine.setupLocalVideo(view, VideoCanvas.RENDER_MODE_HIDDEN, userId);
            mRtcEngine.startPreview(channelId);
        }
    }

    void create() {
        ensureEngineCreated();
    }

    void leave() {
        mRtcEngine.leaveChannel();
    }

    void destroy() {
        mRtcEngine.onDestroy();
    }

}
