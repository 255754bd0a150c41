package com.isdp.irtc;

/** One remote user's received audio (onRemoteAudioStats every 2 s). */
public class RemoteAudioStats {
    public String uid;
    /** Opus packets (20 ms frames) received. */
    public long receivedFrames;
}
