package com.isdp.irtc;

/** One remote user's received video (onRemoteVideoStats every 2 s). */
public class RemoteVideoStats {
    public String uid;
    public int width, height;
    /** Whole frames received (reassembled from RTP, not decoded). */
    public long receivedFrames;
    public long receivedBytes;
    public long keyFrames;
}
