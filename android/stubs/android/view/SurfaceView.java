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

    /** On the desktop: a holder without a surface (the SDK draws nothing there). */
    public SurfaceHolder getHolder() {
        return new SurfaceHolder() {
            @Override
            public Surface getSurface() {
                return null;
            }
        };
    }
}
