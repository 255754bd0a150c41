package com.isdp.irtc;

/** One remote user's received audio (onRemoteAudioStats every 2 s). */
public class RemoteAudioStats {
    public String uid;
    /** Opus packets (20 ms frames) received. */
    public long receivedFrames;
    /** Of them decoded by the engine (0 when the app decodes). */
    public long decodedFrames;
    /** The last decoded 20 ms, 0..255 (as AudioVolumeInfo.volume). */
    public int volume;
}
