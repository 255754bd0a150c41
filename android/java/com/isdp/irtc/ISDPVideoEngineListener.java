package com.isdp.irtc;

/**
 * Every callback of guide §7.2.2's sample and table 7.2.4.2-1 (31).  All
 * have empty defaults, so an app overrides what it needs, as the sample's
 * anonymous class does.  They arrive on the app's main thread on Android
 * (the main Looper) and on one thread named "irtc-callbacks" on the desktop
 * build, in the order the engine saw the events.  docs/ANDROID.md says
 * which callbacks this build fires and when.
 */
public interface ISDPVideoEngineListener {
    /** onConnectionStateChanged states. */
    int CONNECTION_STATE_DISCONNECTED = 1;
    int CONNECTION_STATE_CONNECTING = 2;
    int CONNECTION_STATE_CONNECTED = 3;
    int CONNECTION_STATE_RECONNECTING = 4;
    int CONNECTION_STATE_FAILED = 5;

    /** onRemoteVideoStateChanged / onRemoteAudioStateChanged states. */
    int REMOTE_STATE_STOPPED = 0;
    int REMOTE_STATE_STARTING = 1;
    int REMOTE_STATE_DECODING = 2;
    /** … and their reasons. */
    int REMOTE_REASON_INTERNAL = 0;
    int REMOTE_REASON_REMOTE_MUTED = 5;
    int REMOTE_REASON_REMOTE_UNMUTED = 6;

    /** onMainUserOffline / onConnectionStateChanged reasons: the server's (docs/API.md "Leaving"). */
    int USER_OFFLINE_QUIT = 0;
    int USER_OFFLINE_KICKED = 5;
    int USER_OFFLINE_TOKEN_EXPIRED = 6;
    int USER_OFFLINE_DROPPED = 7;
    int USER_OFFLINE_ROOM_DISSOLVED = 10;

    // ---- the sample's callbacks (§7.2.2) ----
    default void onRemoteVideoStateChanged(String uid, int state, int reason, int elapsed) {
    }

    default void onRemoteAudioStateChanged(String uid, int state, int reason, int elapsed) {
    }

    default void onJoinMainChannelSuccess(String channel, String uid, int elapsed) {
    }

    default void onMainUserJoined(String channelId, String uid, int elapsed) {
    }

    default void onMainError(int err) {
    }

    default void onMainUserOffline(String uid, int reason) {
    }

    default void onMainLeaveChannel(RtcStats stats) {
    }

    default void onMainFirstRemoteVideoFrame(String uid, int width, int height, int elapsed) {
    }

    default void onMainFirstLocalVideoFrame(int width, int height, int elapsed) {
    }

    default void onClientRoleChanged(int oldRole, int newRole) {
    }

    default void onLocalAudioStateChanged(int state, int error) {
    }

    default void onRemoteVideoStats(RemoteVideoStats stats) {
    }

    /** The token is about to expire: call RtcEngine.renewToken with a new one. */
    default void renewToken() {
    }

    default void onFirstLocalAudioFrame(int elapsed) {
    }

    default void onFirstRemoteVideoDecoded(String uid, int width, int height, int elapsed) {
    }

    default void onStreamPublished(String streamId, int error) {
    }

    default void onTokenPrivilegeWillExpire(String token) {
    }

    default void onRemoteAudioStats(RemoteAudioStats stats) {
    }

    default void onFirstRemoteAudioFrame(String uid, int elapsed) {
    }

    /** @param mode 0 speaker (default), 1 earpiece */
    default void onAudioPlayModelChanged(int mode) {
    }

    default void onAudioVolumeIndication(AudioVolumeInfo[] speakers, int totalVolume) {
    }

    default void onRtcStats(RtcStats stats) {
    }

    default void onNetworkQuality(String uid, int txQuality, int rxQuality) {
    }

    default void onMonitorReady(MonitorInfo info) {
    }

    default void onConnectionStateChanged(int state, int reason) {
    }

    default void onConnectionLost() {
    }

    // ---- the table's callbacks not in the sample (table 7.2.4.2-1) ----
    default void onRejoinChannelSuccess(String channel, String uid, int elapsed) {
    }

    default void onNetworkQualityNotify(String uid, int txQuality, int rxQuality) {
    }

    default void onJoinChannelSuccess(String channel, String uid, int elapsed) {
    }

    default void onJoinChannelFailure(int err) {
    }

    default void onLeaveChannel(RtcStats stats) {
    }
}
