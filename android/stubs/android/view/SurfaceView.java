package android.view;

import android.content.Context;

/**
 * API stub (compiled against, never packaged): the part of Android's
 * SurfaceView the SDK uses.  On the desktop it is a plain object the tests
 * can create, as the SDK's createRendererView does.
 */
public class SurfaceView {
    private final Context context;

    public SurfaceView(Context context) {
        this.context = context;
    }

    public Context getContext() {
        return context;
    }
}
