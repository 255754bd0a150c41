package com.isdp.irtc.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP proxy on 127.0.0.1 in front of irtcd's HTTPS port whose
 * connections the test can cut (both ends see the TCP connection end with
 * no WebSocket close frame, as when a network drops): the engine's
 * signaling socket goes through it, its media does not.
 */
final class CutProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<Socket> open = new ArrayList<Socket>();

    CutProxy(int targetPort) throws IOException {
        target = targetPort;
        server = new ServerSocket(0, 16, InetAddress.getByName("127.0.0.1"));
        Thread t = new Thread(new Runnable() {
            @Override
            public void run() {
                accept();
            }
        }, "cut-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket c = server.accept();
                Socket s = new Socket("127.0.0.1", target);
                synchronized (this) {
                    open.add(c);
                    open.add(s);
                }
                pump(c, s);
                pump(s, c);
            } catch (IOException e) {
                /* closed, or irtcd refused: the client sees its socket end */
            }
        }
    }

    private static void pump(final Socket from, final Socket to) {
        Thread t = new Thread(new Runnable() {
            @Override
            public void run() {
                byte[] b = new byte[16384];
                try {
                    InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream();
                    int n;
                    while ((n = in.read(b)) > 0)
                        out.write(b, 0, n);
                } catch (IOException e) {
                    /* cut */
                }
                try {
                    to.close();
                    from.close();
                } catch (IOException e) {
                    /* already */
                }
            }
        }, "cut-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Ends every connection through the proxy now; new ones are still accepted. */
    synchronized void cut() throws IOException {
        for (Socket s : open)
            s.close();
        open.clear();
    }

    @Override
    public void close() throws IOException {
        server.close();
        cut();
    }
}
