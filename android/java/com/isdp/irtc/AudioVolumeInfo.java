package com.isdp.irtc;

/** A speaker's volume (onAudioVolumeIndication; not reported by this build: it does not decode audio). */
public class AudioVolumeInfo {
    public String uid;
    public int volume;
}
