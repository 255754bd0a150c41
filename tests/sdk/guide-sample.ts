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
    client.subscribe(stream, { video: true, audio: true });
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
  await client.join(channel, { userId, signature, ctime, host: '10.0.0.1', port: 443, userRole: 1 });
  const stream = ISDPRTC.createStream({ audio: true, microphoneId: devices[0].deviceId, video: true, userId });
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
  console.log(muted, level, type, stream.getStreamInfo().hasVideo);
  await client.unpublish(stream);
  await client.switchRole(0);
  await client.leave();
}
main('a', 'b', 'c', 'd', 'e', 'f');
