package com.isdp.irtc;

/** A speaker's volume (onAudioVolumeIndication every 2 s): 0..255, linear in the RMS of its last decoded 20 ms. */
public class AudioVolumeInfo {
    public String uid;
    public int volume;
}
