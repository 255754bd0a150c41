// guide-sample.ts — the access guide's Web SDK sample (§7.3.2) in
// TypeScript against web/sdk/isdprtc.d.ts; test_sdk_bundle.js compiles it
// with tsc --strict (never run).
import ISDPRTC = require('../../web/sdk/isdprtc');

async function main(appId: string, domain: string, channel: string, userId: string, signature: string, ctime: string) {
  try {
    const isMatch: boolean = await ISDPRTC.checkSystemRequirements();
    console.log(isMatch ? 'compatible' : 'not compatible', ISDPRTC.VERSION);
  } catch (error) {
    console.log('not compatible');
  }
  const devices: MediaDeviceInfo[] = await ISDPRTC.getDevices();
  const client: ISDPRTC.Client = ISDPRTC.createClient({ appId, domain });
  client.on('peer-join', e => console.log(e.userId));
  client.on('peer-leave', e => console.log(e.userId, e.reason && e.reason.code));
  client.on('stream-added', event => {
    const stream = event.stream;
    client.subscribe(stream, { video: true, audio: true, maxLayer: stream.getType() === 'main' ? 'medium' : 2 });
  });
  client.on('stream-subscribed', event => {
    const stream = event.stream;
    stream.play('remote-' + stream.getId(), { objectFit: 'contain', muted: true });
  });
  client.on('stream-removed', event => event.stream.close());
  client.on('mute-video', e => console.log(e.roomId, e.userId));
  client.on('error', e => console.log(e.errorCode, e.errorMsg));
  client.on('network-quality', e => console.log(e.uplinkNetworkQuality, e.downlink.rtt));
  client.on('signature-expired', () => client.renewSignature('new token'));
  // Additions: layer preference and the v2 events.
  client.on('stream-layer-changed', e => console.log(e.stream.getId(), e.layer, e.layers));
  client.on('stream-video-paused', e => console.log(e.stream.getId(), e.reason));
  client.on('stream-video-resumed', e => console.log(e.stream.getId()));
  client.on('active-speaker', e => console.log(e.userId, e.stream && e.stream.getType()));
  client.on('stream-subscribed', e => { if (e.stream.getType() === 'main') client.setRemoteVideoLayer(e.stream, 'low'); });
  await client.join(channel, { userId, signature, ctime, host: '10.0.0.1', port: 443, userRole: 1 });
  const stream = ISDPRTC.createStream({ audio: true, microphoneId: devices[0].deviceId, video: true, userId, simulcast: true });
  stream.initialize().then(() => {
    client.publish(stream);
    stream.play('local', { muted: true });
  }).catch((r: ISDPRTC.StreamInitializeResult) => {
    const v = r.getMediaCaptureResultByType('video');
    console.log(r.getCode(), r.getMsg(), v && v.error && v.error.getMsg());
  });
  const muted: boolean = stream.muteAudio();
  const level: number = stream.getAudioLevel();
  const type: 'local' | 'main' | 'auxiliary' = stream.getType();
  stream.setAudioVolume(50);
  const layer = stream.getStreamInfo().layer;
  console.log(muted, level, type, stream.getStreamInfo().hasVideo, stream.getStreamInfo().simulcast, layer && layer.current);
  // The guide's constant names (table 7.2.4.3-1), typed with their numbers.
  const expired: 200010 = ISDPRTC.ErrorCode.ERR_TOKEN_EXPIRED;
  client.on('error', e => console.log(Number(e.errorCode) === expired || Number(e.errorCode) === ISDPRTC.ErrorCode.ERR_SOCKET_RECONNECT_FAIL));
  await client.unpublish(stream);
  await client.switchRole(0);
  await client.leave();
}
main('a', 'b', 'c', 'd', 'e', 'f');
