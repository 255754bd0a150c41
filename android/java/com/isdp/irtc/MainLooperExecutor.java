package com.isdp.irtc;

import android.os.Handler;
import android.os.Looper;

import java.util.concurrent.Executor;

/** Android: callbacks on the main thread.  Loaded only on Android (IsdpRtcEngine checks the VM). */
final class MainLooperExecutor implements Executor {
    private final Handler handler = new Handler(Looper.getMainLooper());

    @Override
    public void execute(Runnable r) {
        handler.post(r);
    }
}
