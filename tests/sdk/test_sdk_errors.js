// test_sdk_errors.js — the Web SDK's error codes against the access guide's
// table 7.2.4.3-1 ("客户端错误码"; the Web SDK uses the same codes): every
// constant name the guide spells is exported by ISDPRTC.ErrorCode with the
// guide's number, nothing else claims a number outside the table, and the
// codes this SDK raises without a server (no browser needed) are the
// guide's for their situation.  Loads the committed build
// (web/sdk/isdprtc.dev.js).  Prints TAP.
'use strict';
const path = require('path');

const top = process.env.top_srcdir || path.resolve(__dirname, '../..');
let n = 0, failed = 0;
function ok(cond, desc) { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`); return cond; }

// The guide, §7.2.4.3 表7.2.4.3-1: 类成员, 错误码, 描述.
const GUIDE = [
  ['ERR_SDK_INTERNAL_ERROR', 200001, 'SDK内部系统错误'],
  ['ERR_SDK_NOT_SUPPORTED', 200002, 'SDK当前状态不支持此操作'],
  ['ERR_CREATE_MEDIA_ENGINE', 200003, '创建媒体引擎失败'],
  ['ERR_NOT_INITIALIZED', 200004, 'SDK初始化失败，初始化尚未完成'],
  ['ERR_SOCKET_URL_NOT_CORRECT', 200005, '输入的url不合法'],
  ['ERR_INVALID_CONNECT_PARAMETER', 200006, '无效的连接参数'],
  ['ERR_CONNECT_PARAMETER_NOT_EMPTY', 200007, '视频连接参数不能为空'],
  ['ERR_VIDEOINFO_NOT_EMPTY', 200008, '视频信息不能为空'],
  ['ERR_INVALID_TOKEN', 200009, 'Token不合法'],
  ['ERR_TOKEN_EXPIRED', 200010, 'Token已过期'],
  ['ERR_USER_ALREADY_JOINED', 200011, '该UserID已经加入房间'],
  ['ERR_USER_ALREADY_LEAVED', 200012, '该用户已离开房间'],
  ['ERR_SOCKET_CONNECT_FAIL', 200013, 'Socket连接失败'],
  ['ERR_SOCKET_CONNECT_TIMEOUT', 200014, 'Socket连接超时'],
  ['ERR_SOCKET_RECONNECT_FAIL', 200015, 'Socket重连失败'],
  ['ERR_SOCKET_DISCONNECT', 200016, 'Socket断开连接'],
  ['ERR_SERVER_NO_RESPONSE', 200017, '服务器没有响应'],
  ['ERR_JOIN_CHANNEL_FAIL', 200018, '加入频道失败'],
  ['ERR_JOIN_CHANNEL_REJECTED', 200019, '加入频道被拒绝'],
  ['ERR_MEM_NOT_ENOUGH', 200020, '内存不足'],
  ['ERR_GET_MEDIA_PORT_FAIL', 200021, '媒体接入点获取失败'],
  ['ERR_SCREEN_CAPTURE_FAIL', 200022, '屏幕共享失败'],
  ['ERR_SET_REMOTE_AUDIO_MUTE_FAIL', 200023, '设置远端音频静音失败'],
  ['ERR_SETUP_REMOTE_VIEW_FAIL', 200024, '设置远端View失败'],
  ['ERR_PUBLISH_AUDIO_STREAM_FAIL', 200025, '当前设备推音频流失败'],
  ['ERR_PUBLISH_VIDEO_STREAM_FAIL', 200026, '当前设备推视频流失败'],
];
// Codes beyond the guide's table that the server sends (docs/API.md): cluster redirect.
const SERVER_ONLY = [200030];

/** The RtcError fn throws or rejects with (null if none). */
async function errorOf(fn) {
  try { await fn(); } catch (e) { return e; }
  return null;
}
function code(e) { return e && typeof e.getCode === 'function' ? e.getCode() : `not an RtcError: ${e}`; }

async function main() {
  const ISDPRTC = require(path.join(top, 'web/sdk/isdprtc.dev.js'));
  const EC = ISDPRTC.ErrorCode;

  for (const [name, num, zh] of GUIDE) ok(EC[name] === num, `ErrorCode.${name} is ${num} (${zh}): ${EC[name]}`);
  const guideNums = new Set(GUIDE.map(g => g[1]));
  const guideNames = new Set(GUIDE.map(g => g[0]));
  const strayErr = Object.keys(EC).filter(k => k.startsWith('ERR_') && !guideNames.has(k));
  ok(strayErr.length === 0, `every ERR_ name of ErrorCode is the guide's (${strayErr.join(', ') || 'none other'})`);
  const strayNum = Object.entries(EC).filter(([, v]) => !guideNums.has(v) && !SERVER_ONLY.includes(v));
  ok(strayNum.length === 0, `every ErrorCode value is a code of the guide's table (${strayNum.map(e => e.join('=')).join(', ') || 'yes'})`);
  ok(Object.isFrozen(EC), 'ErrorCode is frozen');

  // The situations the SDK detects itself, before anything reaches a server.
  const client = ISDPRTC.createClient({ appId: 'app', domain: 'localhost:1' });
  const tok = { userId: 'u1', signature: 'sig', ctime: '1', host: 'localhost', port: 1 };
  let e = await errorOf(() => client.join('room'));
  ok(code(e) === 200007, `join(channelId) without parameters: 200007 ERR_CONNECT_PARAMETER_NOT_EMPTY (${code(e)} ${e && e.message})`);
  e = await errorOf(() => client.join('room', {}));
  ok(code(e) === 200007, `join(channelId, {}): 200007 (${code(e)})`);
  e = await errorOf(() => client.join('', tok));
  ok(code(e) === 200007, `join('', …): 200007 (${code(e)})`);
  e = await errorOf(() => client.join('room', Object.assign({}, tok, { signature: '' })));
  ok(code(e) === 200007, `join with an empty signature: 200007 (${code(e)})`);
  e = await errorOf(() => client.join('room', Object.assign({}, tok, { userId: 'a b' })));
  ok(code(e) === 200006, `join with a malformed userId: 200006 ERR_INVALID_CONNECT_PARAMETER (${code(e)})`);

  // join()'s host/port (guide: 必选, the media server's access IP and port)
  // against the endpoint the join token names.  The token's shape: Base64 of
  // its JSON body, "@#@", the Base64 HMAC (CONTRACT.md §2); no signature
  // check is needed to be refused before anything is sent.
  const body = { appId: 'app', channelId: 'room', userId: 'u1', host: '10.0.0.1', port: '28001', role: '1', timeStamp: 1 };
  const token = Buffer.from(JSON.stringify(body) + '@#@' + Buffer.alloc(32).toString('base64')).toString('base64');
  const withTok = (h, p) => Object.assign({}, tok, { signature: token, host: h, port: p });
  e = await errorOf(() => client.join('room', withTok('10.0.0.2', 28001)));
  ok(code(e) === 200006 && /10\.0\.0\.1:28001/.test(e.getMsg()),
    `join with a host other than the token's media endpoint: 200006 ERR_INVALID_CONNECT_PARAMETER naming it (${code(e)} ${e && e.getMsg()})`);
  e = await errorOf(() => client.join('room', withTok('10.0.0.1', 28002)));
  ok(code(e) === 200006, `join with a port other than the token's: 200006 (${code(e)})`);
  e = await errorOf(() => client.join('room', withTok('10.0.0.1', undefined)));
  ok(code(e) === 200006, `join with host but no port: 200006 (${code(e)})`);
  ok(client.getConnectionState() === 'DISCONNECTED', 'refused before connecting: still DISCONNECTED');
  // Matching host/port (port as a number or a string) get past the check: the socket to localhost:1 then fails (200013/200014).
  e = await errorOf(() => client.join('room', withTok('10.0.0.1', 28001)));
  ok(code(e) === 200013 || code(e) === 200014 || code(e) === 200005,
    `join with the token's own host/port passes the check and tries the server (${code(e)} ${e && e.getMsg()})`);

  e = await errorOf(() => ISDPRTC.createStream());
  ok(code(e) === 200008, `createStream() with no media settings: 200008 ERR_VIDEOINFO_NOT_EMPTY (${code(e)} ${e && e.message})`);
  e = await errorOf(() => ISDPRTC.createStream({ audio: false, video: false, userId: 'u1' }));
  ok(code(e) === 200008, `createStream({audio: false, video: false}): 200008 (${code(e)})`);

  const local = ISDPRTC.createStream({ audio: true, video: true });
  e = await errorOf(() => client.publish(local));
  ok(code(e) === 200004, `publish() of a stream not initialized: 200004 ERR_NOT_INITIALIZED (${code(e)} ${e && e.message})`);
  e = await errorOf(() => local.switchDevice('video', 'x'));
  ok(code(e) === 200004, `switchDevice() before initialize(): 200004 (${code(e)})`);
  e = await errorOf(() => client.renewSignature('sig2'));
  ok(code(e) === 200002, `a call that needs a room before join(): 200002 ERR_SDK_NOT_SUPPORTED, not 200012 "already left" (${code(e)} ${e && e.message})`);

  // A remote stream whose audio is not received cannot be muted: 200023.
  const Stream = Object.getPrototypeOf(local).constructor;
  const remote = new Stream('remote', { desc: { streamId: '7', userId: 'u2', hasAudio: true, hasVideo: true }, client });
  const errors = [];
  client.on('error', ev => errors.push(ev));
  const r = remote.muteAudio();
  ok(r === false && errors.length === 1 && errors[0].errorCode === '200023',
    `muteAudio() of a remote stream whose audio is not subscribed: false and error 200023 ERR_SET_REMOTE_AUDIO_MUTE_FAIL (${r}, ${JSON.stringify(errors)})`);

  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

main().catch(e => { console.log(`not ok ${n + 1} - ${e.stack}`); console.log(`1..${n + 1}`); process.exit(1); });
