package com.isdp.irtc;

/**
 * The client error codes of guide §7.2.4.3 (table 7.2.4.3-1), the same
 * numbers irtcd's signaling answers with (docs/API.md "Error codes").  A
 * method that returns int returns 0 or one of these.
 */
public final class ISDPRtcErrorCode {
    private ISDPRtcErrorCode() {
    }

    public static final int ERR_SDK_INTERNAL_ERROR = 200001;
    public static final int ERR_SDK_NOT_SUPPORTED = 200002;
    public static final int ERR_CREATE_MEDIA_ENGINE = 200003;
    public static final int ERR_NOT_INITIALIZED = 200004;
    public static final int ERR_SOCKET_URL_NOT_CORRECT = 200005;
    public static final int ERR_INVALID_CONNECT_PARAMETER = 200006;
    public static final int ERR_CONNECT_PARAMETER_NOT_EMPTY = 200007;
    public static final int ERR_VIDEOINFO_NOT_EMPTY = 200008;
    public static final int ERR_INVALID_TOKEN = 200009;
    public static final int ERR_TOKEN_EXPIRED = 200010;
    public static final int ERR_USER_ALREADY_JOINED = 200011;
    public static final int ERR_USER_ALREADY_LEAVED = 200012;
    public static final int ERR_SOCKET_CONNECT_FAIL = 200013;
    public static final int ERR_SOCKET_CONNECT_TIMEOUT = 200014;
    public static final int ERR_SOCKET_RECONNECT_FAIL = 200015;
    public static final int ERR_SOCKET_DISCONNECT = 200016;
    public static final int ERR_SERVER_NO_RESPONSE = 200017;
    public static final int ERR_JOIN_CHANNEL_FAIL = 200018;
    public static final int ERR_JOIN_CHANNEL_REJECTED = 200019;
    public static final int ERR_MEM_NOT_ENOUGH = 200020;
    public static final int ERR_GET_MEDIA_PORT_FAIL = 200021;
    public static final int ERR_SCREEN_CAPTURE_FAIL = 200022;
    public static final int ERR_SET_REMOTE_AUDIO_MUTE_FAIL = 200023;
    public static final int ERR_SETUP_REMOTE_VIEW_FAIL = 200024;
    public static final int ERR_PUBLISH_AUDIO_STREAM_FAIL = 200025;
    public static final int ERR_PUBLISH_VIDEO_STREAM_FAIL = 200026;
}
