package com.isdp.irtc;

import android.media.AudioFormat;
import android.media.AudioManager;
import android.media.AudioTrack;
import android.media.MediaCodec;
import android.media.MediaFormat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Android only (compiled, not run here): one remote user's Opus packets into
 * MediaCodec's Opus decoder (API 21+, configured with the OpusHead and
 * pre-skip / pre-roll values RFC 7845 and MediaCodec ask for) and the PCM
 * into an AudioTrack (48 kHz stereo, voice call stream) at the volume
 * adjustPlaybackVolume set.  A full queue drops the newest packet.
 *
 * Threads: offer() from the engine thread; "irtc-adec" decodes and writes
 * (AudioTrack.write blocks it, pacing it to playout); setVolume and stop
 * from any thread.
 */
final class AudioPlayer extends CodecThread {
    private static final int RATE = 48000, PRE_SKIP = 312;
    private final AudioTrack track;
    private final BlockingQueue<byte[]> packets = new ArrayBlockingQueue<byte[]>(50);

    private AudioPlayer(MediaCodec codec, AudioTrack track, String uid) {
        super(codec, "irtc-adec-" + uid);
        this.track = track;
    }

    static AudioPlayer start(String uid, int volume) {
        MediaCodec c;
        try {
            c = MediaCodec.createDecoderByType(MediaFormat.MIMETYPE_AUDIO_OPUS);
        } catch (IOException e) {
            return null;
        }
        AudioTrack t = null;
        try {
            MediaFormat f = MediaFormat.createAudioFormat(MediaFormat.MIMETYPE_AUDIO_OPUS, RATE, 2);
            ByteBuffer head = ByteBuffer.allocate(19).order(ByteOrder.LITTLE_ENDIAN);
            head.put(new byte[] {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2});
            head.putShort((short) PRE_SKIP).putInt(RATE).putShort((short) 0).put((byte) 0);
            head.flip();
            f.setByteBuffer("csd-0", head);
            f.setByteBuffer("csd-1", nanos(PRE_SKIP * 1000000000L / RATE));
            f.setByteBuffer("csd-2", nanos(80000000L));
            c.configure(f, null, null, 0);
            int min = AudioTrack.getMinBufferSize(RATE, AudioFormat.CHANNEL_OUT_STEREO, AudioFormat.ENCODING_PCM_16BIT);
            t = new AudioTrack(AudioManager.STREAM_VOICE_CALL, RATE, AudioFormat.CHANNEL_OUT_STEREO,
                    AudioFormat.ENCODING_PCM_16BIT, Math.max(min, 3840 * 4), AudioTrack.MODE_STREAM);
            AudioPlayer p = new AudioPlayer(c, t, uid);
            p.setVolume(volume);
            t.play();
            p.startThread();
            return p;
        } catch (RuntimeException e) {
            if (t != null)
                t.release();
            c.release();
            return null;
        }
    }

    private static ByteBuffer nanos(long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        b.putLong(v).flip();
        return b;
    }

    /** 0 (silent) .. 100 (as received); more is capped. */
    void setVolume(int volume) {
        track.setVolume(Math.min(100, Math.max(0, volume)) / 100f);
    }

    void offer(byte[] packet) {
        packets.offer(packet);
    }

    @Override
    protected void released() {
        track.stop();
        track.release();
    }

    @Override
    protected void output(byte[] pcm, int length, long ptsUs, int flags) {
        track.write(pcm, 0, length); /* blocks while the track's buffer is full: paces this thread */
    }

    @Override
    public void run() {
        decodeQueue(packets, 20000, false);
    }
}
