// Audio levels (Stream.getAudioLevel, the audio-volume event): an
// AnalyserNode on the track, RMS of the last 20 ms scaled so that a
// full-scale sine is 1.  One AudioContext for the page.
let ctx = null;

function context() {
  if (ctx) return ctx;
  const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!AC) return null;
  try { ctx = new AC(); } catch (e) { return null; }
  return ctx;
}

/** Resumes the page's AudioContext (browsers start it suspended without a user gesture). */
export function resumeAudio() {
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
}

export class LevelMeter {
  constructor(track) {
    this.track = track;
    this.node = null;
    this.source = null;
    const c = context();
    if (!c || !track) return;
    try {
      this.source = c.createMediaStreamSource(new MediaStream([track]));
      this.node = c.createAnalyser();
      this.node.fftSize = 1024;
      this.buf = new Float32Array(this.node.fftSize);
      this.source.connect(this.node);
      resumeAudio();
    } catch (e) {
      this.node = null;
    }
  }
  /** 0..1, or null when the meter cannot measure (no context, suspended). */
  level() {
    if (!this.node || !ctx || ctx.state !== 'running' || this.track.readyState !== 'live') return null;
    this.node.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (let i = 0; i < this.buf.length; i++) sum += this.buf[i] * this.buf[i];
    return Math.min(1, Math.sqrt(sum / this.buf.length) * Math.SQRT2);
  }
  dispose() {
    try { if (this.source) this.source.disconnect(); } catch (e) { /* gone */ }
    this.node = this.source = null;
  }
}
