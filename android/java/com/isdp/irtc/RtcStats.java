package com.isdp.irtc;

/** The call's counters (onRtcStats every 2 s, onMainLeaveChannel at the end). */
public class RtcStats {
    /** Seconds in the channel. */
    public int totalDuration;
    public long txBytes, rxBytes;
    public long txPackets, rxPackets;
    /** Received RTP packets never recovered (sequence gaps after NACK). */
    public long rxLostPackets;
    /** Remote users whose streams are in the channel. */
    public int users;
    /** Largest RFC 3550 interarrival jitter of the received streams, ms. */
    public int rxJitterMs;
}
