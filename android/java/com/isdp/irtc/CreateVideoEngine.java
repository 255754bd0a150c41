package com.isdp.irtc;

import android.content.Context;

/**
 * The SDK's entry point (guide §7.2.2):
 * {@code new CreateVideoEngine().create(mContext, EngineType.ISDP)}, then
 * {@link RtcEngine#createVideo}.
 */
public class CreateVideoEngine {
    public RtcEngine create(Context context, EngineType type) {
        if (type != EngineType.ISDP)
            throw new IllegalArgumentException("engine type " + type + " is not supported");
        return new IsdpRtcEngine();
    }
}
