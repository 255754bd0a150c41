package com.isdp.irtc;

/** Device monitoring data (onMonitorReady; not reported by this build). */
public class MonitorInfo {
    public int cpuAppUsage;
    public int cpuTotalUsage;
    public long memoryAppUsageKb;
}
