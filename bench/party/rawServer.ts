// The floor: a bare `ws` server. A client joins the room named in its URL (/r/<room>), gets one
// `state` frame, and any text message it sends is taken as a host command: the server reads the
// position, serializes one frame and sends that same buffer to every socket of the room.
// Run by bench/party.ts in its own process; prints `listening <port>`.
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { seekFrame } from './frame.js';

const rooms = new Map<string, Set<WebSocket>>();
const http = createServer((_request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 4096 });
let seq = 0;

wss.on('connection', (ws, request) => {
  const room = decodeURIComponent((request.url ?? '/r/none').split('/')[2] ?? 'none');
  const members = rooms.get(room) ?? new Set<WebSocket>();
  members.add(ws);
  rooms.set(room, members);
  ws.on('close', () => members.delete(ws));
  ws.on('message', (data) => {
    const command = JSON.parse((data as Buffer).toString('utf8')) as { type?: string; position?: number };
    if (command.type !== 'seek' || typeof command.position !== 'number') return;
    const frame = Buffer.from(JSON.stringify(seekFrame(room, command.position, ++seq, 'host')));
    for (const member of members) member.send(frame, { binary: false });
  });
  ws.send(JSON.stringify({ type: 'state', room }));
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => process.exit(0));
