package com.isdp.irtc;

/** One remote user's received video (onRemoteVideoStats every 2 s, getRemoteFrameStats). */
public class RemoteVideoStats {
    public String uid;
    /** The last decoded picture's size; without a decoder in the engine, the last keyframe header's. */
    public int width, height;
    /** Whole frames received (reassembled from RTP). */
    public long receivedFrames;
    public long receivedBytes;
    public long keyFrames;
    /** Pictures the engine's decoder produced, and frames it refused (0 when the app decodes). */
    public long decodedFrames;
    public long decodeErrors;
}
