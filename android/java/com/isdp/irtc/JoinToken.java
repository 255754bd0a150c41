package com.isdp.irtc;

/**
 * What the SDK reads from a join token (CONTRACT §2: Base64 of the JSON body,
 * "@#@", the signature): the media endpoint's host and the role.  The
 * server checks the signature; this only finds where to connect.  Own
 * Base64 decoder: java.util.Base64 is newer than Android API 21.
 */
final class JoinToken {
    String host;
    String port;
    int role = 1;

    static JoinToken parse(String token) {
        byte[] raw = base64(token);
        if (raw == null)
            return null;
        String s;
        try {
            s = new String(raw, "UTF-8");
        } catch (java.io.UnsupportedEncodingException e) {
            return null;
        }
        int at = s.indexOf("@#@");
        if (at <= 0)
            return null;
        String body = s.substring(0, at);
        JoinToken t = new JoinToken();
        t.host = field(body, "host");
        t.port = field(body, "port");
        String role = field(body, "role");
        if (t.host == null || role == null)
            return null;
        t.role = "0".equals(role) ? 0 : 1;
        return t;
    }

    /** joinChannel's info: "host[:port]" of irtcd's HTTPS address, or a JSON object with "domain". */
    static String domainOf(String info) {
        String s = info.trim();
        if (s.startsWith("{"))
            return field(s, "domain");
        if (s.startsWith("https://") || s.startsWith("wss://"))
            s = s.substring(s.indexOf("//") + 2);
        int slash = s.indexOf('/');
        return slash >= 0 ? s.substring(0, slash) : s;
    }

    static boolean isIpv4(String h) {
        String[] p = h.split("\\.", -1);
        if (p.length != 4)
            return false;
        for (String x : p) {
            if (x.length() == 0 || x.length() > 3)
                return false;
            for (int i = 0; i < x.length(); i++)
                if (x.charAt(i) < '0' || x.charAt(i) > '9')
                    return false;
            if (Integer.parseInt(x) > 255)
                return false;
        }
        return true;
    }

    /** A string (or bare number) field of a flat JSON object. */
    static String field(String json, String name) {
        String key = "\"" + name + "\"";
        int k = json.indexOf(key);
        if (k < 0)
            return null;
        int i = k + key.length();
        while (i < json.length() && (json.charAt(i) == ' ' || json.charAt(i) == ':'))
            i++;
        if (i >= json.length())
            return null;
        if (json.charAt(i) == '"') {
            int end = json.indexOf('"', i + 1);
            return end < 0 ? null : json.substring(i + 1, end);
        }
        int end = i;
        while (end < json.length() && json.charAt(end) != ',' && json.charAt(end) != '}')
            end++;
        return json.substring(i, end).trim();
    }

    static byte[] base64(String s) {
        int[] val = new int[128];
        for (int i = 0; i < 128; i++)
            val[i] = -1;
        String alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++)
            val[alpha.charAt(i)] = i;
        val['-'] = 62; /* URL-safe alphabet too */
        val['_'] = 63;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length() * 3 / 4);
        int acc = 0, bits = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '=')
                break;
            if (c >= 128 || val[c] < 0)
                return null;
            acc = (acc << 6) | val[c];
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out.write((acc >> bits) & 0xff);
            }
        }
        return out.toByteArray();
    }
}
