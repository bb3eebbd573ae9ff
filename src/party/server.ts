// The watch-party HTTP API and WebSocket endpoint, mounted on the bot's Fastify server:
// REST under /api/v1/watch-parties answering `{ success, data }` or `{ success: false, error }`,
// and the socket at /api/v1/watch-parties/:id/ws on the same server's upgrade event (plain `ws`:
// the handshake is authenticated and admitted before it is accepted, so a refused client gets a
// real HTTP status). Browsers cannot set headers on a WebSocket, so the socket also takes the
// token as a subprotocol: `new WebSocket(url, ['watch-party.v1', 'bearer.' + token])`.
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import {
  MAX_CLIENT_MESSAGE_BYTES,
  visibilitySchema,
  WS_BEARER_PREFIX,
  WS_SUBPROTOCOL,
  chatSettingSchema,
  clientMessageSchema,
  isChatCommand,
} from './protocol.js';
import { newErrorId } from '../errors.js';
import { PartyError, tokenFailure } from './errors.js';
import type { PartyService } from './service.js';
import { TokenError, type TokenClaims } from './tokens.js';

export const PARTY_API_PREFIX = '/api/v1/watch-parties';
const WS_PATH = /^\/api\/v1\/watch-parties\/([^/]+)\/ws\/?$/;

const createBody = z
  .object({
    title: z.string().max(100).optional(),
    playlist_id: z.string().max(64).optional(),
    visibility: visibilitySchema.optional(),
    max_participants: z.number().int().optional(),
    source: z.string().max(2048).optional(),
    wait_for_everyone: z.boolean().optional(),
    chat: chatSettingSchema.optional(),
  })
  .strict();
const guestBody = z.object({ display_name: z.string().min(1).max(64) }).strict();
const clipBody = z.object({ source: z.string().min(1).max(2048), title: z.string().max(100).optional() }).strict();
const cohostBody = z.object({ user_id: z.string().min(1).max(100) }).strict();
const kickBody = cohostBody;
const commandBody = clientMessageSchema;
const chatBody = z.object({ message: z.string().max(2000) }).strict();
const settingsBody = z.object({ chat: chatSettingSchema }).strict();

export interface PartyRouteOptions {
  /**
   * Origins of browser apps allowed to call the REST API (CORS) and open the socket, beside the
   * player's own (`publicUrl`). A socket from any other page is refused; one with no Origin (a
   * program, not a browser) is let through to the token check.
   */
  corsOrigins?: readonly string[];
  publicUrl?: string;
  /** The Discord Activity is on: its page's origin (the app's discordsays.com host) may open sockets too. */
  activityOrigin?: () => Promise<string>;
}

type Params = { id: string };

/** The page was served by this server under the name it was reached by (a test, or a proxy that keeps Host). */
function sameHost(origin: string, host: string | undefined): boolean {
  return host !== undefined && URL.canParse(origin) && new URL(origin).host === host;
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new PartyError(400, 'INVALID_INPUT', `${where}${issue?.message ?? 'invalid body'}`);
}

/** Mounts the REST routes and the WebSocket endpoint. Call before `listen()`. */
export function registerPartyRoutes<AppLogger extends FastifyBaseLogger>(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, AppLogger>,
  service: PartyService,
  options: PartyRouteOptions = {},
): void {
  const log = app.log.child({ module: 'party-http' });
  const corsOrigins = [...(options.corsOrigins ?? [])];
  const socketOrigins = new Set(corsOrigins);
  if (options.publicUrl) socketOrigins.add(new URL(options.publicUrl).origin);

  async function authenticate(request: FastifyRequest): Promise<TokenClaims> {
    try {
      return await service.verifyToken(bearer(request.headers.authorization));
    } catch (error) {
      throw error instanceof TokenError ? tokenFailure(error) : error;
    }
  }

  async function optionalAuth(request: FastifyRequest): Promise<TokenClaims | null> {
    return request.headers.authorization ? authenticate(request) : null;
  }

  /** A token scoped to one party is good for that party only. */
  function assertScope(claims: TokenClaims, partyId: string): void {
    if (claims.partyId !== null && claims.partyId !== partyId.toLowerCase()) {
      throw new PartyError(403, 'FORBIDDEN', 'this token is for another party');
    }
  }

  const ok = (reply: FastifyReply, data: unknown, status = 200) => reply.code(status).send({ success: true, data });

  void app.register(
    async (scope) => {
      // Named origins only; an unlisted origin's preflight gets no Access-Control-Allow-Origin.
      if (corsOrigins.length > 0) {
        await scope.register(cors, {
          origin: corsOrigins,
          methods: ['GET', 'POST', 'PATCH', 'DELETE'],
          allowedHeaders: ['authorization', 'content-type'],
          maxAge: 600,
        });
      }
      // A body-less POST sent with a JSON content type (axios and fetch wrappers do) is read as {}.
      const json = scope.getDefaultJsonParser('error', 'error');
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
        const text = body.toString();
        if (text.trim() === '') done(null, {});
        else void json(request, text, done);
      });
      scope.setErrorHandler((error, request, reply) => {
        if (error instanceof PartyError) {
          if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
          return reply.code(error.status).send({ success: false, error: { code: error.code, message: error.message } });
        }
        const status = (error as { statusCode?: unknown }).statusCode;
        if (typeof status === 'number' && status >= 400 && status < 500) {
          const code =
            status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_INPUT';
          return reply.code(status).send({ success: false, error: { code, message: (error as Error).message } });
        }
        const errorId = newErrorId();
        log.error({ err: error, errorId, route: request.routeOptions.url }, 'party route failed');
        return reply
          .code(500)
          .send({ success: false, error: { code: 'INTERNAL', message: `something went wrong (error ${errorId})` } });
      });
      scope.setNotFoundHandler((_request, reply) =>
        reply.code(404).send({ success: false, error: { code: 'NOT_FOUND', message: 'no such route' } }),
      );

      scope.post('/', async (request, reply) => {
        const claims = await authenticate(request);
        if (claims.guest) throw new PartyError(403, 'FORBIDDEN', 'guests cannot create parties');
        const body = parseBody(createBody, request.body);
        const created = await service.createParty({
          host: { id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar },
          source: body.source,
          title: body.title,
          visibility: body.visibility,
          maxParticipants: body.max_participants,
          waitForEveryone: body.wait_for_everyone,
          chat: body.chat,
          address: request.ip,
        });
        return ok(
          reply,
          {
            id: created.id,
            invite_code: created.invite_code,
            invite_url: created.invite_url,
            party: created.party,
            token: created.token,
            expires_at: created.expires_at,
          },
          201,
        );
      });

      // A private party the caller may not see, and a code that names nothing, are one answer: 404.
      scope.get<{ Params: { code: string } }>('/by-code/:code', async (request, reply) => {
        const claims = await optionalAuth(request);
        return ok(reply, await service.viewByCode(request.params.code, claims, request.ip));
      });

      // The path parameter is the invite code here (the reference's `:code`); every other route takes the party id.
      scope.post<{ Params: Params }>('/:id/join', async (request, reply) => {
        const claims = await authenticate(request);
        const joined = await service.joinByCode(
          request.params.id,
          { id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar },
          { address: request.ip, guest: claims.guest, tokenPartyId: claims.partyId },
        );
        return ok(reply, {
          party: joined.party,
          invite_url: joined.invite_url,
          role: joined.role,
          token: joined.token,
          expires_at: joined.expires_at,
        });
      });

      scope.post<{ Params: Params }>('/:id/guest', async (request, reply) => {
        const body = parseBody(guestBody, request.body);
        const joined = await service.joinAsGuest(request.params.id, body.display_name, request.ip);
        return ok(reply, joined, 201);
      });

      scope.get<{ Params: Params }>('/:id', async (request, reply) => {
        const claims = await optionalAuth(request);
        return ok(reply, await service.assertCanView(request.params.id, claims));
      });

      scope.get<{ Params: Params }>('/:id/participants', async (request, reply) => {
        const claims = await optionalAuth(request);
        const party = await service.assertCanView(request.params.id, claims);
        return ok(reply, { participants: party.participants, count: party.participants.length });
      });

      scope.delete<{ Params: Params }>('/:id/leave', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        await service.leave(request.params.id, claims.user.id);
        return ok(reply, { message: 'Successfully left watch party' });
      });

      // Host and co-hosts: the person is taken out of the party and cannot come back with that account.
      scope.post<{ Params: Params }>('/:id/kick', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const body = parseBody(kickBody, request.body);
        await service.removeMember(request.params.id, claims.user.id, body.user_id);
        return ok(reply, { message: 'Removed from the watch party' });
      });

      scope.post<{ Params: Params }>('/:id/end', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        await service.endParty(request.params.id, claims.user.id);
        return ok(reply, { message: 'Watch party ended successfully' });
      });

      scope.post<{ Params: Params }>('/:id/clips', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const body = parseBody(clipBody, request.body);
        return ok(reply, await service.addClip(request.params.id, claims.user.id, body.source, body.title), 201);
      });

      scope.post<{ Params: Params }>('/:id/cohosts', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const body = parseBody(cohostBody, request.body);
        return ok(reply, { participant: await service.promoteCohost(request.params.id, claims.user.id, body.user_id) });
      });

      scope.delete<{ Params: Params & { userId: string } }>('/:id/cohosts/:userId', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        return ok(reply, {
          participant: await service.demoteCohost(request.params.id, claims.user.id, request.params.userId),
        });
      });

      // The same commands as the socket, for clients that only speak HTTP.
      scope.post<{ Params: Params }>('/:id/commands', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const command = parseBody(commandBody, request.body);
        if (command.type === 'ping') throw new PartyError(400, 'INVALID_INPUT', 'ping is for the socket');
        if (isChatCommand(command)) throw new PartyError(400, 'INVALID_INPUT', 'chat has its own routes: /chat');
        return ok(reply, await service.command(request.params.id, claims.user.id, command));
      });

      scope.get<{ Params: Params; Querystring: { clip_id?: string } }>('/:id/playable', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const clipId = typeof request.query.clip_id === 'string' ? request.query.clip_id : undefined;
        void reply.header('cache-control', 'no-store');
        return ok(reply, await service.playable(request.params.id, claims.user.id, clipId));
      });

      // Chat: the same as the socket's chat, typing aside, for clients that only speak HTTP.
      scope.get<{ Params: Params }>('/:id/chat', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        return ok(reply, await service.chatHistory(request.params.id, claims.user.id));
      });

      scope.post<{ Params: Params }>('/:id/chat', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const body = parseBody(chatBody, request.body);
        return ok(
          reply,
          { chat_message: await service.postChat(request.params.id, claims.user.id, body.message) },
          201,
        );
      });

      scope.delete<{ Params: Params & { messageId: string } }>('/:id/chat/:messageId', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        await service.deleteChat(request.params.id, claims.user.id, request.params.messageId);
        return ok(reply, { message: 'deleted' });
      });

      scope.patch<{ Params: Params }>('/:id/settings', async (request, reply) => {
        const claims = await authenticate(request);
        assertScope(claims, request.params.id);
        const body = parseBody(settingsBody, request.body);
        return ok(reply, { party: await service.setChat(request.params.id, claims.user.id, body.chat) });
      });
    },
    { prefix: PARTY_API_PREFIX },
  );

  // ---------------------------------------------------------------------------------------------
  // WebSocket

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    perMessageDeflate: false,
    // Never echo the bearer entry: select the protocol name, or none for header-authenticated clients.
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });

  let closing = false;

  function refuse(socket: Duplex, error: PartyError): void {
    const body = JSON.stringify({ success: false, error: { code: error.code, message: error.message } });
    socket.end(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
        'Connection: close\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  function tokenFromHandshake(request: IncomingMessage): string | null {
    const fromHeader = bearer(request.headers.authorization);
    if (fromHeader) return fromHeader;
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((entry) => entry.trim());
    const entry = offered.find((protocol) => protocol.startsWith(WS_BEARER_PREFIX));
    return entry ? entry.slice(WS_BEARER_PREFIX.length) : null;
  }

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, partyId: string): Promise<void> {
    // Anyone can knock: an address whose knocks keep being refused is turned away before any work.
    const address = app.clientAddress(request);
    // A browser says which page opens the socket: the player's own, or an origin the operator listed.
    const origin = request.headers.origin;
    const activityOrigin = origin !== undefined && (await options.activityOrigin?.().catch(() => null));
    if (
      origin !== undefined &&
      !socketOrigins.has(origin) &&
      !sameHost(origin, request.headers.host) &&
      origin !== activityOrigin
    ) {
      refuse(socket, new PartyError(403, 'FORBIDDEN', 'sockets from this origin are not allowed'));
      return;
    }
    try {
      await service.guardUpgrade(address);
    } catch (error) {
      refuse(
        socket,
        error instanceof PartyError ? error : new PartyError(500, 'INTERNAL', 'could not check the address'),
      );
      return;
    }
    let claims: TokenClaims;
    try {
      claims = await service.verifyToken(tokenFromHandshake(request));
    } catch (error) {
      await service.refusedUpgrade(address);
      refuse(
        socket,
        error instanceof TokenError ? tokenFailure(error) : new PartyError(401, 'UNAUTHORIZED', 'bad token'),
      );
      return;
    }
    if (socket.destroyed) return;
    try {
      await service.admitSocket(partyId, claims, address);
    } catch (error) {
      if (error instanceof PartyError) {
        // A refusal counts against the address; the party being briefly away does not.
        if (error.status < 500 && error.status !== 429) await service.refusedUpgrade(address);
        refuse(socket, error);
      } else {
        log.error({ err: error, partyId }, 'party socket admission failed');
        refuse(socket, new PartyError(500, 'INTERNAL', 'could not open the party socket'));
      }
      return;
    }
    // Admission may take a request to another process: the server may be closing by now.
    if (closing) {
      refuse(socket, new PartyError(503, 'SHUTTING_DOWN', 'the server is restarting: try again shortly'));
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => service.attachSocket(partyId, claims, ws, address));
  }

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const match = WS_PATH.exec(path);
    if (!match?.[1]) {
      // Another upgrade handler may own this path; answer only when nobody else will.
      if (app.server.listenerCount('upgrade') === 1) refuse(socket, new PartyError(404, 'NOT_FOUND', 'no such socket'));
      return;
    }
    socket.on('error', () => socket.destroy());
    upgrade(request, socket, head, match[1]).catch((error: unknown) => {
      log.error({ err: error }, 'party socket upgrade failed');
      socket.destroy();
    });
  });

  app.addHook('preClose', (done) => {
    closing = true;
    for (const client of wss.clients) client.terminate();
    wss.close();
    done();
  });
}
