// The gateway half of the fake: Discord's v10 JSON protocol as @discordjs/ws 1.2 speaks it. It keeps
// sessions apart from sockets because that is what makes resuming observable: a session outlives its
// socket (unless the client closed with 1000/1001), buffers the dispatches it missed, and a RESUME on a
// new socket replays everything after the client's last sequence number before RESUMED.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
  RequestSoundboardSounds: 31,
} as const;

/** Gateway intents the fake gates dispatches on. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  MessageContent: 1 << 15,
} as const;

const PRIVILEGED = Intent.GuildMembers | Intent.GuildPresences | Intent.MessageContent;
/** Sessions nobody resumes are forgotten after this long (Discord's window is of this order). */
const SESSION_TTL_MS = 120_000;
const BACKLOG_LIMIT = 1000;

interface Session {
  id: string;
  seq: number;
  intents: number;
  /** [shard_id, num_shards] from IDENTIFY; a shard receives only its guilds' events, as on Discord */
  shard: [number, number];
  conn: Connection | undefined;
  backlog: Array<{ s: number; text: string }>;
  expiry: NodeJS.Timeout | undefined;
}

interface Connection {
  ws: WebSocket;
  session: Session | undefined;
  path: string;
}

export interface GatewayReceived {
  op: number;
  d: unknown;
  at: number;
}

export interface GatewayHooks {
  token: string;
  heartbeatIntervalMs: number;
  /** Privileged intents the application is "approved" for; others close with 4014. */
  allowedPrivilegedIntents: number;
  resumeUrl: () => string;
  readyData: (sessionId: string, resumeUrl: string) => Record<string, unknown>;
  /** GUILD_CREATE payloads for a freshly identified session with these intents. */
  guildCreates: (intents: number) => Array<Record<string, unknown>>;
  guildMembersChunk: (request: Record<string, unknown>) => Record<string, unknown> | undefined;
  onChange: () => void;
}

/** Discord's rule: a guild belongs to shard (guild_id >> 22) % num_shards. */
function ownsGuild(session: Session, guildId: string | undefined): boolean {
  if (guildId === undefined || !/^\d+$/.test(guildId)) return true;
  return Number((BigInt(guildId) >> 22n) % BigInt(session.shard[1])) === session.shard[0];
}

function guildOf(t: string, d: unknown): string | undefined {
  if (typeof d !== 'object' || d === null) return undefined;
  const record = d as Record<string, unknown>;
  if (typeof record['guild_id'] === 'string') return record['guild_id'];
  if ((t === 'GUILD_CREATE' || t === 'GUILD_DELETE' || t === 'GUILD_UPDATE') && typeof record['id'] === 'string') {
    return record['id'];
  }
  return undefined;
}

export class FakeGateway {
  readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  connectionsOpened = 0;
  identifies = 0;
  resumes = 0;
  readies = 0;
  heartbeats = 0;
  /** Every payload the bot sent, tokens redacted (presence updates, member requests, ...). */
  readonly received: GatewayReceived[] = [];
  /** Why the fake closed a socket, newest last: helps explain a client that never gets ready. */
  readonly closes: Array<{ code: number; reason: string; at: number }> = [];

  /** IDENTIFYs received while held; answered on release. */
  private heldIdentifies: Array<{ conn: Connection; d: Record<string, unknown> }> | undefined;

  constructor(private readonly hooks: GatewayHooks) {}

  /**
   * Leaves IDENTIFYs unanswered until the returned function is called, so a test can observe the bot
   * while it is connecting. discord.js gives up after 15 s without READY (then reconnects).
   */
  holdIdentify(): () => void {
    this.heldIdentifies ??= [];
    return () => {
      const held = this.heldIdentifies ?? [];
      this.heldIdentifies = undefined;
      for (const { conn, d } of held) if (conn.ws.readyState === WebSocket.OPEN) this.identify(conn, d);
      this.hooks.onChange();
    };
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  get connected(): boolean {
    for (const c of this.connections) if (c.session && c.ws.readyState === WebSocket.OPEN) return true;
    return false;
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const conn: Connection = { ws, session: undefined, path: url.pathname };
    this.connections.add(conn);
    this.connectionsOpened++;
    ws.on('message', (raw, isBinary) => this.onMessage(conn, raw, isBinary));
    ws.on('close', (code) => this.onSocketClose(conn, code));
    ws.on('error', () => undefined);
    const v = url.searchParams.get('v');
    if (v !== null && v !== '10') return this.closeConn(conn, 4012, 'Invalid API version');
    if ((url.searchParams.get('encoding') ?? 'json') !== 'json')
      return this.closeConn(conn, 4002, 'Only encoding=json is faked');
    if (url.searchParams.has('compress')) {
      // zlib-stream needs zlib-sync on the client; the fake speaks plain JSON only. 4012 is fatal in
      // discord.js, so the misconfiguration surfaces as an error rather than an endless resume loop.
      return this.closeConn(conn, 4012, 'Transport compression is not supported by the fake; uninstall zlib-sync');
    }
    this.send(conn, {
      op: Op.Hello,
      d: { heartbeat_interval: this.hooks.heartbeatIntervalMs, _trace: ['fake-gateway'] },
    });
    this.hooks.onChange();
  }

  private onMessage(conn: Connection, raw: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return this.closeConn(conn, 4002, 'Error while decoding payload.');
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(rawText(raw)) as typeof payload;
    } catch {
      return this.closeConn(conn, 4002, 'Error while decoding payload.');
    }
    const op = typeof payload.op === 'number' ? payload.op : -1;
    const d = payload.d;
    this.received.push({ op, d: redactToken(d), at: Date.now() });
    switch (op) {
      case Op.Heartbeat:
        this.heartbeats++;
        this.send(conn, { op: Op.HeartbeatAck });
        break;
      case Op.Identify:
        if (this.heldIdentifies) this.heldIdentifies.push({ conn, d: isRecord(d) ? d : {} });
        else this.identify(conn, isRecord(d) ? d : {});
        break;
      case Op.Resume:
        this.resume(conn, isRecord(d) ? d : {});
        break;
      case Op.PresenceUpdate:
      case Op.VoiceStateUpdate:
      case Op.RequestSoundboardSounds:
        if (!conn.session) return this.closeConn(conn, 4003, 'Not authenticated.');
        break;
      case Op.RequestGuildMembers: {
        if (!conn.session) return this.closeConn(conn, 4003, 'Not authenticated.');
        const chunk = this.hooks.guildMembersChunk(isRecord(d) ? d : {});
        if (chunk) this.sendDispatch(conn.session, 'GUILD_MEMBERS_CHUNK', chunk);
        break;
      }
      default:
        this.closeConn(conn, 4001, 'Unknown opcode.');
    }
    this.hooks.onChange();
  }

  private identify(conn: Connection, d: Record<string, unknown>): void {
    if (conn.session) return this.closeConn(conn, 4005, 'Already authenticated.');
    if (d['token'] !== this.hooks.token) return this.closeConn(conn, 4004, 'Authentication failed.');
    const shard = d['shard'] ?? [0, 1];
    if (
      !Array.isArray(shard) ||
      shard.length !== 2 ||
      !shard.every((n) => Number.isInteger(n)) ||
      !(shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1])
    ) {
      return this.closeConn(conn, 4010, 'Invalid shard.');
    }
    const intents = d['intents'];
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || intents >= 1 << 26) {
      return this.closeConn(conn, 4013, 'Invalid intent(s).');
    }
    if (intents & PRIVILEGED & ~this.hooks.allowedPrivilegedIntents)
      return this.closeConn(conn, 4014, 'Disallowed intent(s).');
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      seq: 0,
      intents,
      shard: [shard[0] as number, shard[1] as number],
      conn,
      backlog: [],
      expiry: undefined,
    };
    this.sessions.set(session.id, session);
    conn.session = session;
    this.identifies++;
    const ready = this.hooks.readyData(session.id, this.hooks.resumeUrl());
    const guilds = Array.isArray(ready['guilds']) ? (ready['guilds'] as Array<{ id: string }>) : [];
    this.sendDispatch(session, 'READY', {
      ...ready,
      shard: session.shard,
      guilds: guilds.filter((guild) => ownsGuild(session, guild.id)),
    });
    for (const guild of this.hooks.guildCreates(intents)) {
      if (ownsGuild(session, String(guild['id']))) this.sendDispatch(session, 'GUILD_CREATE', guild);
    }
    this.readies++;
  }

  private resume(conn: Connection, d: Record<string, unknown>): void {
    if (d['token'] !== this.hooks.token) return this.closeConn(conn, 4004, 'Authentication failed.');
    const session = typeof d['session_id'] === 'string' ? this.sessions.get(d['session_id']) : undefined;
    if (!session) {
      // Unknown or expired session: the client must identify again (it waits ~1–5 s, like on Discord).
      this.send(conn, { op: Op.InvalidSession, d: false });
      return;
    }
    const previous = session.conn;
    if (previous && previous !== conn) {
      previous.session = undefined;
      previous.ws.terminate();
    }
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = undefined;
    session.conn = conn;
    conn.session = session;
    const since = typeof d['seq'] === 'number' ? d['seq'] : 0;
    for (const entry of session.backlog) if (entry.s > since) conn.ws.send(entry.text);
    this.resumes++;
    this.sendDispatch(session, 'RESUMED', { _trace: ['fake-gateway'] });
  }

  private onSocketClose(conn: Connection, code: number): void {
    this.connections.delete(conn);
    const session = conn.session;
    conn.session = undefined;
    if (session && session.conn === conn) {
      session.conn = undefined;
      // A client that closes normally (client.destroy()) ends its session; anything else may resume.
      if (code === 1000 || code === 1001) this.sessions.delete(session.id);
      else {
        session.expiry = setTimeout(() => this.sessions.delete(session.id), SESSION_TTL_MS);
        session.expiry.unref();
      }
    }
    this.hooks.onChange();
  }

  /**
   * Sends a dispatch to every live or resumable session whose intents ask for it and, for a guild's
   * event, whose shard holds that guild.
   */
  dispatch(t: string, d: unknown, intent?: number): void {
    const guildId = guildOf(t, d);
    for (const session of this.sessions.values()) {
      if ((intent === undefined || session.intents & intent) && ownsGuild(session, guildId)) {
        this.sendDispatch(session, t, d);
      }
    }
  }

  /** Per-session variant, for payloads that depend on the session's intents (message content). */
  dispatchWith(t: string, build: (intents: number) => unknown, intent?: number): void {
    for (const session of this.sessions.values()) {
      if (intent === undefined || session.intents & intent) {
        const d = build(session.intents);
        if (ownsGuild(session, guildOf(t, d))) this.sendDispatch(session, t, d);
      }
    }
  }

  get hasSession(): boolean {
    return this.sessions.size > 0;
  }

  private sendDispatch(session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    const text = JSON.stringify({ op: Op.Dispatch, t, s, d });
    session.backlog.push({ s, text });
    if (session.backlog.length > BACKLOG_LIMIT) session.backlog.shift();
    if (session.conn?.ws.readyState === WebSocket.OPEN) session.conn.ws.send(text);
  }

  private send(conn: Connection, payload: unknown): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(payload));
  }

  private closeConn(conn: Connection, code: number, reason: string): void {
    this.closes.push({ code, reason, at: Date.now() });
    if (conn.ws.readyState === WebSocket.OPEN || conn.ws.readyState === WebSocket.CONNECTING)
      conn.ws.close(code, reason);
  }

  /**
   * Drops every bot socket. 1006 drops TCP without a close frame (as a network failure would); 1000, 1001,
   * 4007 and 4009 also forget the sessions, so the client has to identify again rather than resume.
   */
  disconnect(code: number, reason = 'fake disconnect'): void {
    const forget = code === 1000 || code === 1001 || code === 4007 || code === 4009;
    for (const conn of [...this.connections]) {
      const session = conn.session;
      if (forget && session) this.sessions.delete(session.id);
      if (code === 1006) conn.ws.terminate();
      else this.closeConn(conn, code, reason);
    }
  }

  /** op 9: with `resumable` the client resumes on the same socket, otherwise it identifies anew. */
  invalidateSession(resumable: boolean): void {
    for (const conn of this.connections) {
      if (!conn.session) continue;
      if (!resumable) {
        this.sessions.delete(conn.session.id);
        conn.session = undefined;
      }
      this.send(conn, { op: Op.InvalidSession, d: resumable });
    }
  }

  /** op 7: Discord asking the client to reconnect and resume. */
  requestReconnect(): void {
    for (const conn of this.connections) this.send(conn, { op: Op.Reconnect, d: null });
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) if (session.expiry) clearTimeout(session.expiry);
    this.sessions.clear();
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rawText(raw: WebSocket.RawData): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}

function redactToken(d: unknown): unknown {
  if (isRecord(d) && typeof d['token'] === 'string') return { ...d, token: '[redacted]' };
  return d;
}
