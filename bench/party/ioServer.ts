// What most watch-party projects run: a socket.io server, one room per party. A client names its
// room in the handshake `auth`, is joined to it and gets one `state` event; a `seek` from a client
// becomes `io.to(room).emit('seek', …)` (socket.io encodes the packet once for the whole room).
// Run by bench/party.ts in its own process; prints `listening <port>`.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { seekFrame } from './frame.js';

const http = createServer();
const io = new Server(http, { serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 4096 });
let seq = 0;

io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { room?: unknown };
  const room = typeof auth.room === 'string' ? auth.room : 'none';
  void socket.join(room);
  socket.on('seek', (command: { position?: unknown }) => {
    if (typeof command?.position !== 'number') return;
    io.to(room).emit('seek', seekFrame(room, command.position, ++seq, 'host'));
  });
  socket.emit('state', { type: 'state', room });
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => process.exit(0));
