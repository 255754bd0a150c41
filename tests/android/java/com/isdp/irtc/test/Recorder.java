package com.isdp.irtc.test;

import com.isdp.irtc.AudioVolumeInfo;
import com.isdp.irtc.ISDPVideoEngineListener;
import com.isdp.irtc.MonitorInfo;
import com.isdp.irtc.RemoteAudioStats;
import com.isdp.irtc.RemoteVideoStats;
import com.isdp.irtc.RtcStats;

import java.util.ArrayList;
import java.util.List;

/** A listener that records every callback as "name arg arg…" and the thread it came on. */
class Recorder implements ISDPVideoEngineListener {
    private final List<String> events = new ArrayList<String>();
    final List<String> threads = new ArrayList<String>();

    private synchronized void add(String e) {
        events.add(e);
        String t = Thread.currentThread().getName();
        if (!threads.contains(t))
            threads.add(t);
        notifyAll();
    }

    synchronized List<String> snapshot() {
        return new ArrayList<String>(events);
    }

    /** The first event starting with prefix, waiting at most ms; null if none came. */
    synchronized String await(String prefix, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (true) {
            for (String e : events)
                if (e.startsWith(prefix))
                    return e;
            long left = end - System.currentTimeMillis();
            if (left <= 0)
                return null;
            wait(left);
        }
    }

    /** Waits until n events start with prefix (at most ms); true if they came. */
    synchronized boolean awaitCount(String prefix, int n, long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (true) {
            int c = 0;
            for (String e : events)
                if (e.startsWith(prefix))
                    c++;
            if (c >= n)
                return true;
            long left = end - System.currentTimeMillis();
            if (left <= 0)
                return false;
            wait(left);
        }
    }

    synchronized boolean has(String prefix) {
        for (String e : events)
            if (e.startsWith(prefix))
                return true;
        return false;
    }

    @Override public void onRemoteVideoStateChanged(String s, int i, int i1, int i2) { add("onRemoteVideoStateChanged " + s + " " + i + " " + i1); }
    @Override public void onRemoteAudioStateChanged(String s, int i, int i1, int i2) { add("onRemoteAudioStateChanged " + s + " " + i + " " + i1); }
    @Override public void onJoinMainChannelSuccess(String s, String s1, int i) { add("onJoinMainChannelSuccess " + s + " " + s1); }
    @Override public void onMainUserJoined(String s, String s1, int i) { add("onMainUserJoined " + s + " " + s1); }
    @Override public void onMainError(int i) { add("onMainError " + i); }
    @Override public void onMainUserOffline(String s, int i) { add("onMainUserOffline " + s + " " + i); }
    @Override public void onMainLeaveChannel(RtcStats r) { add("onMainLeaveChannel " + r.txPackets); }
    @Override public void onMainFirstRemoteVideoFrame(String s, int i, int i1, int i2) { add("onMainFirstRemoteVideoFrame " + s + " " + i + "x" + i1); }
    @Override public void onMainFirstLocalVideoFrame(int i, int i1, int i2) { add("onMainFirstLocalVideoFrame " + i + "x" + i1); }
    @Override public void onClientRoleChanged(int i, int i1) { add("onClientRoleChanged " + i + " " + i1); }
    @Override public void onLocalAudioStateChanged(int i, int i1) { add("onLocalAudioStateChanged " + i + " " + i1); }
    @Override public void onRemoteVideoStats(RemoteVideoStats r) { add("onRemoteVideoStats " + r.uid + " " + r.receivedFrames); }
    @Override public void renewToken() { add("renewToken"); }
    @Override public void onFirstLocalAudioFrame(int i) { add("onFirstLocalAudioFrame"); }
    @Override public void onFirstRemoteVideoDecoded(String s, int i, int i1, int i2) { add("onFirstRemoteVideoDecoded " + s + " " + i + "x" + i1); }
    @Override public void onStreamPublished(String s, int i) { add("onStreamPublished " + s + " " + i); }
    @Override public void onTokenPrivilegeWillExpire(String s) { add("onTokenPrivilegeWillExpire"); }
    @Override public void onRemoteAudioStats(RemoteAudioStats r) { add("onRemoteAudioStats " + r.uid + " " + r.receivedFrames); }
    @Override public void onFirstRemoteAudioFrame(String s, int i) { add("onFirstRemoteAudioFrame " + s); }
    @Override public void onAudioPlayModelChanged(int mode) { add("onAudioPlayModelChanged " + mode); }
    @Override public void onAudioVolumeIndication(AudioVolumeInfo[] a, int i) {
        StringBuilder b = new StringBuilder("onAudioVolumeIndication " + i);
        for (AudioVolumeInfo v : a)
            b.append(' ').append(v.uid).append(':').append(v.volume);
        add(b.toString());
    }
    @Override public void onRtcStats(RtcStats r) { add("onRtcStats " + r.rxPackets); }
    @Override public void onNetworkQuality(String s, int i, int i1) { add("onNetworkQuality " + s + " " + i); }
    @Override public void onMonitorReady(MonitorInfo m) { add("onMonitorReady"); }
    @Override public void onConnectionStateChanged(int i, int i1) { add("onConnectionStateChanged " + i + " " + i1); }
    @Override public void onConnectionLost() { add("onConnectionLost"); }
    @Override public void onRejoinChannelSuccess(String s, String s1, int i) { add("onRejoinChannelSuccess " + s + " " + s1); }
    @Override public void onNetworkQualityNotify(String s, int i, int i1) { add("onNetworkQualityNotify " + s); }
    @Override public void onJoinChannelSuccess(String s, String s1, int i) { add("onJoinChannelSuccess " + s + " " + s1); }
    @Override public void onJoinChannelFailure(int i) { add("onJoinChannelFailure " + i); }
    @Override public void onLeaveChannel(RtcStats r) { add("onLeaveChannel"); }
}
