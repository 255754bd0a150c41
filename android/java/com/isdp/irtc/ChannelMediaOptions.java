package com.isdp.irtc;

/** What joinChannel's declared form (…, ChannelMediaOptions, listener) publishes and subscribes to. */
public class ChannelMediaOptions {
    public boolean publishLocalAudio = true;
    public boolean publishLocalVideo = true;
    public boolean autoSubscribeAudio = true;
    public boolean autoSubscribeVideo = true;
}
