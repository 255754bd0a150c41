package com.isdp.irtc;

import android.media.AudioFormat;
import android.media.AudioRecord;
import android.media.MediaCodec;
import android.media.MediaFormat;
import android.media.MediaRecorder;
import android.os.Build;

import java.io.IOException;

/**
 * Android only (compiled, not run here): the microphone through AudioRecord
 * (48 kHz mono, voice communication source) into MediaCodec's Opus encoder,
 * 20 ms per packet, each packet to RtcEngine.pushEncodedFrame.
 *
 * MediaCodec has an Opus encoder from API 29 only: below that start()
 * returns null and the SDK publishes no audio (AndroidMedia says so with
 * onLocalAudioStateChanged(3 failed, 3 encode error)).
 *
 * Threads: "irtc-aenc" reads, encodes and drains; stop from any thread.
 */
final class AudioEncoder extends CodecThread {
    static final int RATE = 48000, FRAME_SAMPLES = 960;
    private static final int FRAME_BYTES = FRAME_SAMPLES * 2;
    private final RtcEngine engine;
    private final AudioRecord mic;

    private AudioEncoder(RtcEngine engine, AudioRecord mic, MediaCodec codec) {
        super(codec, "irtc-aenc");
        this.engine = engine;
        this.mic = mic;
    }

    /** Started, or null: API below 29, no Opus encoder, or no microphone (RECORD_AUDIO refused). */
    static AudioEncoder start(RtcEngine engine) {
        if (Build.VERSION.SDK_INT < 29)
            return null;
        MediaCodec c;
        try {
            c = MediaCodec.createEncoderByType(MediaFormat.MIMETYPE_AUDIO_OPUS);
        } catch (IOException e) {
            return null;
        }
        AudioRecord mic = null;
        try {
            MediaFormat f = MediaFormat.createAudioFormat(MediaFormat.MIMETYPE_AUDIO_OPUS, RATE, 1);
            f.setInteger(MediaFormat.KEY_BIT_RATE, 32000);
            c.configure(f, null, null, MediaCodec.CONFIGURE_FLAG_ENCODE);
            int min = AudioRecord.getMinBufferSize(RATE, AudioFormat.CHANNEL_IN_MONO, AudioFormat.ENCODING_PCM_16BIT);
            mic = new AudioRecord(MediaRecorder.AudioSource.VOICE_COMMUNICATION, RATE, AudioFormat.CHANNEL_IN_MONO,
                    AudioFormat.ENCODING_PCM_16BIT, Math.max(min, FRAME_BYTES * 4));
            if (mic.getState() != AudioRecord.STATE_INITIALIZED)
                throw new IllegalStateException("no microphone");
            AudioEncoder e = new AudioEncoder(engine, mic, c);
            mic.startRecording();
            e.startThread();
            return e;
        } catch (RuntimeException ex) {
            if (mic != null)
                mic.release();
            c.release();
            return null;
        }
    }

    @Override
    protected void released() {
        mic.stop();
        mic.release();
    }

    @Override
    protected void output(byte[] data, int length, long ptsUs, int flags) {
        if ((flags & MediaCodec.BUFFER_FLAG_CODEC_CONFIG) == 0) /* the OpusHead: not sent in RTP */
            engine.pushEncodedFrame(false, ptsUs, data, length); /* copied by the engine */
    }

    @Override
    public void run() {
        byte[] pcm = new byte[FRAME_BYTES];
        long samples = 0;
        try {
            while (running()) {
                int got = 0;
                while (got < FRAME_BYTES && running()) {
                    int n = mic.read(pcm, got, FRAME_BYTES - got);
                    if (n <= 0)
                        return; /* the microphone went away */
                    got += n;
                }
                feed(pcm, FRAME_BYTES, samples * 1000000L / RATE);
                samples += FRAME_SAMPLES;
                drain(0, false);
            }
        } catch (RuntimeException e) {
            /* the codec was stopped under us: the thread ends */
        }
    }
}
