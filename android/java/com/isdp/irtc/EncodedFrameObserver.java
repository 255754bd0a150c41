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
     * One whole frame of a remote user's main stream: a VP8 frame (video) or an Opus packet.
     * keyFrame, width and height from the VP8 keyframe header (0 otherwise); rtpTimestamp
     * in the stream's clock (90 kHz video, 48 kHz audio).
     */
    void onRemoteEncodedFrame(String uid, boolean video, boolean keyFrame, int width, int height, long rtpTimestamp,
            byte[] data);

    /** A receiver of our video asked for a keyframe (PLI/FIR): make the next frame one. */
    void onKeyFrameRequested();
}
