package com.isdp.irtc.test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The irtcd that tests/android/test_android.sh started on 127.0.0.1, from
 * its environment: join tokens from `irtcd token`, REST calls with curl.
 */
final class Irtcd {
    static final String BIN = System.getenv("IRTCD");
    static final String CONFIG = System.getenv("IRTC_CONFIG");
    static final String PORT = System.getenv("IRTC_HTTPS_PORT");
    static final String APP = System.getenv("IRTC_APP_ID");
    static final String BEARER = System.getenv("IRTC_BEARER");
    static final String ACCESS_KEY = System.getenv("IRTC_ACCESS_KEY");
    static final String TENANT = System.getenv("IRTC_TENANT_ID");
    static final String MEDIA_PORT = System.getenv("IRTC_MEDIA_PORT");
    /** limits.token_ttl, the server's default (the test's config does not set it). */
    static final long TOKEN_TTL_MS = 24L * 3600 * 1000;

    static String info() {
        return "127.0.0.1:" + PORT;
    }

    static String run(String... cmd) throws Exception {
        List<String> c = Arrays.asList(cmd);
        ProcessBuilder pb = new ProcessBuilder(c).redirectErrorStream(false);
        pb.environment().remove("LD_PRELOAD"); /* a sanitizer run preloads libasan for the JVM only */
        Process p = pb.start();
        InputStream in = p.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = new byte[4096];
        int n;
        while ((n = in.read(b)) > 0)
            out.write(b, 0, n);
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + c);
        }
        if (p.exitValue() != 0)
            throw new IllegalStateException("failed (" + p.exitValue() + "): " + c);
        return new String(out.toByteArray(), StandardCharsets.UTF_8).trim();
    }

    /** The join token: the "signature" of `irtcd token`'s JSON. */
    static String token(String channel, String user, int role) throws Exception {
        String json = run(BIN, "--config", CONFIG, "token", APP, channel, user, "--role", String.valueOf(role));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"signature\":\"([^\"]+)\"").matcher(json);
        if (!m.find())
            throw new IllegalStateException("no signature in: " + json);
        return m.group(1);
    }

    static String token(String channel, String user) throws Exception {
        return token(channel, user, 1);
    }

    /**
     * A join token dated so that it expires in expiresInMs, made as CONTRACT
     * §2 says (irtcd token always dates its tokens now).
     */
    static String tokenExpiringIn(String channel, String user, long expiresInMs) throws Exception {
        long ts = System.currentTimeMillis() - TOKEN_TTL_MS + expiresInMs;
        // The room's media port, as irtcd's own token names it (the server
        // checks it: the port of the channel's worker, not the first one).
        String json = run(BIN, "--config", CONFIG, "token", APP, channel, user);
        java.util.regex.Matcher pm = java.util.regex.Pattern.compile("\"port\":\"?([0-9]+)").matcher(json);
        if (!pm.find())
            throw new IllegalStateException("no port in: " + json);
        String port = pm.group(1);
        String msg = "appId=" + APP + "&channelId=" + channel + "&host=127.0.0.1&port=" + port + "&role=1&tenantId="
                + TENANT + "&timeStamp=" + ts + "&userId=" + user;
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec((ACCESS_KEY + ts).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String sig = java.util.Base64.getEncoder().encodeToString(mac.doFinal(msg.getBytes(StandardCharsets.UTF_8)));
        String body = "{\"timeStamp\":" + ts + ",\"role\":\"1\",\"port\":\"" + port + "\",\"appId\":\"" + APP
                + "\",\"host\":\"127.0.0.1\",\"tenantId\":\"" + TENANT + "\",\"userId\":\"" + user
                + "\",\"channelId\":\"" + channel + "\"}";
        return java.util.Base64.getEncoder().encodeToString((body + "@#@" + sig).getBytes(StandardCharsets.UTF_8));
    }

    /** POST /openapi/v1/rtcLive/releaseUser; the response body. */
    static String releaseUser(String channel, String user) throws Exception {
        String body = "{\"appId\":\"" + APP + "\",\"channelId\":\"" + channel + "\",\"userId\":\"" + user + "\"}";
        return run("curl", "-ks", "--max-time", "10", "-H", "Authorization: bearer " + BEARER, "-H",
                "Content-Type: application/json", "-d", body,
                "https://127.0.0.1:" + PORT + "/openapi/v1/rtcLive/releaseUser");
    }
}
