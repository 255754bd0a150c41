package com.isdp.irtc;

/**
 * Not in the guide: the app's side of external media (RtcEngine.setExternalMedia).
 * The engine hands every whole received frame here instead of decoding it, and
 * asks for a keyframe when a receiver of ours lost one.  Called on the engine
 * thread ("irtc-engine"): copy or queue, never block it.  On Android the SDK's
 * own MediaCodec pipeline (AndroidMedia) is such an observer.
 */
public interface EncodedFrameObserver {
    /**
     * One whole frame of a remote user's main stream: a VP8 frame or (h264) an H.264 access unit
     * with start codes (video), or an Opus packet.  keyFrame (VP8 keyframe, H.264 IDR or SPS),
     * width and height from the VP8 keyframe header or the SPS (0 otherwise); rtpTimestamp in
     * the stream's clock (90 kHz video, 48 kHz audio).
     */
    void onRemoteEncodedFrame(String uid, boolean video, boolean h264, boolean keyFrame, int width, int height,
            long rtpTimestamp, byte[] data);

    /** A receiver of our video asked for a keyframe (PLI/FIR): make the next frame one. */
    void onKeyFrameRequested();
}
