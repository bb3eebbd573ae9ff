// A minimal HTTP CONNECT proxy on loopback for the proxy tests (undici's ProxyAgent and the live
// feed both tunnel through CONNECT): it records every tunnel and can refuse them on demand.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  port: number;
  url: string;
  /** every CONNECT received: its target (`host:port`) and headers */
  tunnels: Array<{ target: string; headers: IncomingHttpHeaders }>;
  /** when true, tunnels are refused with 407 */
  refuse: boolean;
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  const proxy: ConnectProxy = {
    port: 0,
    url: '',
    tunnels: [],
    refuse: false,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    proxy.tunnels.push({ target, headers: req.headers });
    client.on('error', () => undefined);
    const [host, port] = target.split(':');
    if (proxy.refuse) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  proxy.port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}
