/**
 * What every vendor mock shares: its handle (`VendorMock`) and a loopback listener that closes with
 * every connection still open (so a test never waits on a kept-alive or stalled socket).
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A running vendor mock. */
export interface VendorMock {
  /** The base URL to give the connector's `baseUrl` (`http://127.0.0.1:PORT`, plus a base path if the API has one). */
  url: string;
  /** Every request received, in order. */
  requests: Array<{
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>;
  /** Stops the server and drops every open connection. */
  close(): Promise<void>;
}

/**
 * Starts `server` on 127.0.0.1.
 * @param port - @default 0 (a free port)
 * @returns the origin (`http://127.0.0.1:PORT`) and a `close` that also destroys open sockets
 */
export async function listenOnLoopback(
  server: Server,
  port = 0,
): Promise<{ origin: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
