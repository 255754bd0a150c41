package com.isdp.irtc;

import android.view.SurfaceView;

/** A view bound to a user's video (setupLocalVideo / setupRemoteVideo), with its render mode. */
public class VideoCanvas {
    /** Fill the view, cropping what does not fit (the guide's sample uses it). */
    public static final int RENDER_MODE_HIDDEN = 1;
    /** Fit the whole picture in the view, with bars. */
    public static final int RENDER_MODE_FIT = 2;

    public SurfaceView view;
    public int renderMode;
    public String channelId;
    public String userId;

    public VideoCanvas(SurfaceView view, int renderMode, String channelId, String userId) {
        this.view = view;
        this.renderMode = renderMode;
        this.channelId = channelId;
        this.userId = userId;
    }
}
