// Type definitions for ISDPRTC, the irtc Web SDK (docs/SDK.md), compatible
// with the ISDP+ iRTC Web SDK (access guide §7.3).  TypeScript 3.8 or later.
//
// <script src="/sdk/isdprtc.js"> defines the global ISDPRTC;
// `import ISDPRTC from './sdk/isdprtc'` works with a bundler (esModuleInterop
// or allowSyntheticDefaultImports); isdprtc.esm.js is the native ES module.

export as namespace ISDPRTC;
export = ISDPRTC;

declare namespace ISDPRTC {
  /** The SDK's version, e.g. "0.1.0". */
  const VERSION: string;

  /** Resolves true when the browser can use the SDK; rejects with an RtcError naming what is missing. */
  function checkSystemRequirements(): Promise<boolean>;
  /** Media input and output devices (labels/ids may be empty before the user grants access). */
  function getDevices(): Promise<MediaDeviceInfo[]>;
  /** A client for one room.  Several clients may be joined to several rooms at once. */
  function createClient(config: ClientConfig): Client;
  /** A local stream: camera and/or microphone, or a screen share. */
  function createStream(config: StreamConfig): Stream;

  interface ClientConfig {
    /** The application's APP ID (≤ 128 characters). */
    appId: string;
    /** host[:port] of the appliance: the SDK opens wss://<domain>/v1/signal.  Default: location.host. */
    domain?: string;
  }

  interface StreamConfig {
    /** Capture the camera (ignored when screen is true).  Default false. */
    video?: boolean;
    /** Capture the microphone, with echo cancellation, noise suppression and gain control (ignored when screen is true).  Default false. */
    audio?: boolean;
    /** Share the screen (an auxiliary stream).  Default false. */
    screen?: boolean;
    microphoneId?: string;
    cameraId?: string;
    /** The userId the stream belongs to (getUserId()). */
    userId?: string;
    /** Addition: the camera's resolution.  Default '720p'. */
    resolution?: '360p' | '480p' | '720p' | '1080p';
    /**
     * Addition: send the camera as simulcast layers (320x180, 640x360 and the full size) so that each
     * receiver gets what its link carries.  Default: true at 720p and 1080p, false below; never for a screen.
     */
    simulcast?: boolean;
  }

  interface JoinConfig {
    /** [A-Za-z0-9_-], ≤ 64. */
    userId: string;
    /** The join token (access guide §7.4). */
    signature: string;
    /** UTC seconds when the token was made. */
    ctime?: string | number;
    /** The media endpoint (informational: the token carries it). */
    host?: string;
    port?: number | string;
    /** 1 joiner (send and receive, default), 0 publisher (send only). */
    userRole?: 0 | 1;
  }

  /** Addition: a simulcast layer, lowest first: 'low' (0, 320x180), 'medium' (1, 640x360), 'high' (2, full size). */
  type VideoLayer = 'low' | 'medium' | 'high' | 0 | 1 | 2;
  interface SubscribeOption {
    video?: boolean;
    audio?: boolean;
    /** Addition: the largest layer wanted (a thumbnail wants 'low').  Default: the highest the link carries. */
    maxLayer?: VideoLayer;
  }
  type UnsubscriptionOption = SubscribeOption;
  interface StopOption { audio?: boolean; video?: boolean; }
  type ResumeOption = StopOption;

  interface PlayOptions {
    objectFit?: 'contain' | 'cover' | 'fill';
    /** Default false. */
    muted?: boolean;
    /** Addition: mirror the picture; default true for a local camera, false otherwise. */
    mirror?: boolean;
  }

  type ConnectionState = 'DISCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING';

  interface ByeReason { code: number; msg: string; }
  interface PeerJoinEvent { userId: string; }
  interface PeerLeaveEvent { userId: string; reason?: ByeReason; }
  interface StreamEvent { stream: Stream; }
  interface ErrorInfo { errorCode: string; errorMsg: string; }
  interface MediaStatusNotifyInfo { roomId: string; userId: string; streamId?: string; }
  interface ClientBannedEvent { reason?: ByeReason; }
  interface SignatureExpiredEvent { expiresAt: number; }
  interface CameraChangedEvent { deviceId: string; label: string; state: 'ADDED' | 'REMOVED'; }
  /** Addition.  Quality: 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down. */
  interface NetworkQualityEvent {
    uplinkNetworkQuality: number;
    downlinkNetworkQuality: number;
    /** available: the estimated bandwidth (bit/s) when known: the browser's for the uplink, the server's for the downlink. */
    uplink: { rtt: number | null; loss: number; bitrate: number; available?: number };
    downlink: { rtt: number | null; loss: number; bitrate: number; available?: number };
  }
  /** Addition. */
  interface AudioVolumeEvent {
    result: Array<{ userId: string; streamId: string | null; type: 'local' | 'main' | 'auxiliary'; audioVolume: number; level: number }>;
  }
  /** Addition. */
  interface ConnectionStateEvent { prevState: ConnectionState; curState: ConnectionState; reason?: string; }
  /** Addition: a subscribed stream's video stopped (audio goes on) because the downlink cannot carry even its lowest layer. */
  interface StreamVideoPausedEvent { stream: Stream; reason: 'bandwidth'; }
  /** Addition: the simulcast layer now received (0 lowest) of layers published. */
  interface StreamLayerChangedEvent { stream: Stream; layer: number; layers: number; }
  /** Addition: the loudest user of the room (stream: the remote or local Stream when known). */
  interface ActiveSpeakerEvent { userId: string; streamId: string | null; stream: Stream | null; }
  /** Addition: a room message (sendMessage) from userId; data as sent (string or ArrayBuffer). */
  interface MessageEvent { userId: string; data: string | ArrayBuffer; }
  /** Addition: to one user (default everyone else); reliable false: no retransmission, no order (default true). */
  interface SendMessageOption { userId?: string; reliable?: boolean; }

  interface ClientEventMap {
    'peer-join': PeerJoinEvent;
    'peer-leave': PeerLeaveEvent;
    'stream-added': StreamEvent;
    'stream-removed': StreamEvent;
    'stream-updated': StreamEvent;
    'stream-subscribed': StreamEvent;
    'stream-published': StreamEvent;
    'client-banned': ClientBannedEvent;
    'error': ErrorInfo;
    'mute-audio': MediaStatusNotifyInfo;
    'unmute-audio': MediaStatusNotifyInfo;
    'mute-video': MediaStatusNotifyInfo;
    'unmute-video': MediaStatusNotifyInfo;
    'signature-expired': SignatureExpiredEvent;
    'camera-changed': CameraChangedEvent;
    'network-quality': NetworkQualityEvent;
    'audio-volume': AudioVolumeEvent;
    'connection-state-changed': ConnectionStateEvent;
    'stream-video-paused': StreamVideoPausedEvent;
    'stream-video-resumed': StreamEvent;
    'stream-layer-changed': StreamLayerChangedEvent;
    'active-speaker': ActiveSpeakerEvent;
    'message': MessageEvent;
  }
  type ClientEvent = keyof ClientEventMap;

  interface Client {
    join(channelId: string, options: JoinConfig): Promise<void>;
    leave(): Promise<void>;
    publish(stream: Stream): Promise<void>;
    unpublish(stream: Stream): Promise<void>;
    /** No option: audio and the highest-resolution video.  video and audio may not both be false. */
    subscribe(stream: Stream, option?: SubscribeOption): Promise<void>;
    /** No option: everything. */
    unsubscribe(stream: Stream, option?: UnsubscriptionOption): Promise<void>;
    switchRole(role: 0 | 1): Promise<void>;
    on<K extends ClientEvent>(event: K, handler: (event: ClientEventMap[K]) => void): void;
    on(event: string, handler: (event: any) => void): void;
    off<K extends ClientEvent>(event: K, handler: (event: ClientEventMap[K]) => void): void;
    off(event: string, handler?: (event: any) => void): void;
    /** Addition: replace the join token (after signature-expired). */
    renewSignature(signature: string): Promise<void>;
    /** Addition. */
    getConnectionState(): ConnectionState;
    /** Addition: the largest simulcast layer wanted for a subscribed stream (default 'high'). */
    setRemoteVideoLayer(stream: Stream, layer: VideoLayer): Promise<void>;
    /** Addition: a message to the room over data channels (after publish or subscribe). */
    sendMessage(data: string | ArrayBuffer | ArrayBufferView, option?: SendMessageOption): void;
  }

  type MediaType = 'audio' | 'video';
  interface MediaCaptureResult { type: MediaType; track?: MediaStreamTrack; error?: RtcError; }

  class RtcError extends Error {
    getCode(): number;
    getMsg(): string;
  }
  /** initialize()'s result: getCode() 0 when every kind succeeded. */
  interface StreamInitializeResult extends RtcError {
    getMediaCaptureResult(): MediaCaptureResult[];
    getMediaCaptureResultByType(type: MediaType): MediaCaptureResult | undefined;
  }

  interface StreamInfo {
    streamId: string | null;
    userId: string | undefined;
    type: 'local' | 'main' | 'auxiliary';
    screen: boolean;
    hasAudio: boolean;
    hasVideo: boolean;
    audioMuted: boolean;
    videoMuted: boolean;
    videoCodec: string | null;
    video: { width?: number; height?: number; frameRate?: number; deviceId?: string } | null;
    audio: { sampleRate?: number; channelCount?: number; deviceId?: string;
      echoCancellation?: boolean; noiseSuppression?: boolean; autoGainControl?: boolean } | null;
    resolution?: string | null;
    /** Addition: the video encodings sent (local) or published (remote); 0 without video. */
    simulcast?: number;
    /** Addition (remote, subscribed with video): the layer received, the layers published, the preference, paused for bandwidth. */
    layer?: { current: number | null; count: number; max: number | null; paused: boolean } | null;
  }

  interface Stream {
    /** Local: rejects with a StreamInitializeResult (NotFoundError, NotAllowedError, NotReadableError, OverConstrainedError, AbortError per media). */
    initialize(): Promise<StreamInitializeResult>;
    play(elementId: string, options?: PlayOptions): Promise<void>;
    stop(option?: StopOption): void;
    resume(option?: ResumeOption): Promise<void>;
    close(): void;
    muteAudio(): boolean;
    muteVideo(): boolean;
    unmuteAudio(): boolean;
    unmuteVideo(): boolean;
    getId(): string;
    getUserId(): string | undefined;
    hasAudio(): boolean;
    hasVideo(): boolean;
    getAudioTrack(): MediaStreamTrack | null;
    getVideoTrack(): MediaStreamTrack | null;
    getType(): 'local' | 'main' | 'auxiliary';
    getStreamInfo(): StreamInfo;
    /** 0..100. */
    setAudioVolume(volume: number): void;
    /** 0..1; above 0.1 the user is speaking. */
    getAudioLevel(): number;
    /** Addition: switch the camera or microphone, also while published. */
    switchDevice(type: MediaType, deviceId: string): Promise<void>;
  }

  /**
   * Addition: the error codes (docs/SDK.md "Errors"), under the names of the
   * guide's table 7.2.4.3-1 and the SDK's earlier names.
   */
  const ErrorCode: {
    readonly ERR_SDK_INTERNAL_ERROR: 200001;
    readonly ERR_SDK_NOT_SUPPORTED: 200002;
    readonly ERR_CREATE_MEDIA_ENGINE: 200003;
    readonly ERR_NOT_INITIALIZED: 200004;
    readonly ERR_SOCKET_URL_NOT_CORRECT: 200005;
    readonly ERR_INVALID_CONNECT_PARAMETER: 200006;
    readonly ERR_CONNECT_PARAMETER_NOT_EMPTY: 200007;
    readonly ERR_VIDEOINFO_NOT_EMPTY: 200008;
    readonly ERR_INVALID_TOKEN: 200009;
    readonly ERR_TOKEN_EXPIRED: 200010;
    readonly ERR_USER_ALREADY_JOINED: 200011;
    readonly ERR_USER_ALREADY_LEAVED: 200012;
    readonly ERR_SOCKET_CONNECT_FAIL: 200013;
    readonly ERR_SOCKET_CONNECT_TIMEOUT: 200014;
    readonly ERR_SOCKET_RECONNECT_FAIL: 200015;
    readonly ERR_SOCKET_DISCONNECT: 200016;
    readonly ERR_SERVER_NO_RESPONSE: 200017;
    readonly ERR_JOIN_CHANNEL_FAIL: 200018;
    readonly ERR_JOIN_CHANNEL_REJECTED: 200019;
    readonly ERR_MEM_NOT_ENOUGH: 200020;
    readonly ERR_GET_MEDIA_PORT_FAIL: 200021;
    readonly ERR_SCREEN_CAPTURE_FAIL: 200022;
    readonly ERR_SET_REMOTE_AUDIO_MUTE_FAIL: 200023;
    readonly ERR_SETUP_REMOTE_VIEW_FAIL: 200024;
    readonly ERR_PUBLISH_AUDIO_STREAM_FAIL: 200025;
    readonly ERR_PUBLISH_VIDEO_STREAM_FAIL: 200026;
    readonly [name: string]: number;
  };
}
