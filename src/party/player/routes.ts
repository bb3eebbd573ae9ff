// Serves the companion web player: the page at GET /watch-parties/:code (the invite URL) and its
// bundled assets at /watch-parties/assets/*, with a Content-Security-Policy that allows no inline
// script and only the media origins the party can play from, and Referrer-Policy: no-referrer so a
// signed media URL or the page address never leaks to a third party.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { isValidHost } from '../../net/hosts.js';
import { normalizeInviteCode } from '../codes.js';
import type { PartyService } from '../service.js';
import { ACTIVITY_PATH, PARTY_PREFIX } from '../activityMappings.js';
import { ACTIVITY_CLIENT_META, PAGE_TOKEN_META, pageTokenOf, PLAYER_PATH } from './pageToken.js';
import { PROXY_ROOT } from './proxyUrl.js';

export { PLAYER_PATH };
const ASSET_NAME = /^[\w.-]+\.(js|css|map|txt)$/;
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
/** Parti's own media hosts (recordings and live CDNs), besides the configured recording bases. */
const PARTI_MEDIA_HOSTS = ['https://*.parti.com'];

export interface PlayerRouteOptions {
  /** Where the bundle is; default dist/party/player/assets (built by `npm run build`). */
  assetsDir?: string;
  /** The Discord Activity is on: its page is served at ACTIVITY_PATH, for the app with this id. */
  activity?: { applicationId: () => Promise<string> } | undefined;
}

/**
 * Inside Discord the page's frame is Discord's (and, in tests, the fake client's on the proxy's own
 * origin); every request it makes goes through the proxy, so `'self'` is the only source it needs.
 */
const ACTIVITY_FRAME_ANCESTORS =
  "'self' https://discord.com https://*.discord.com https://discordapp.com https://*.discordapp.com https://*.discordsays.com";

function defaultAssetsDir(): string {
  // Compiled: next to this file. Run from src (tsx, tests): the bundle only exists under dist.
  const here = fileURLToPath(new URL('.', import.meta.url));
  const beside = join(here, 'assets');
  return existsSync(beside) ? beside : join(here, '../../../dist/party/player/assets');
}

/**
 * `scheme://host[:port]` of an http(s) URL, rebuilt from the parsed URL, or null. Null too for a host
 * that no DNS answers for (`a;b.example` parses): it would end up in the policy, where `;` ends a
 * directive and `,` a policy. And for an IPv6 literal, which CSP's source grammar has no form for.
 */
function originOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const { protocol, hostname, port } = new URL(url);
  if ((protocol !== 'https:' && protocol !== 'http:') || hostname.startsWith('[') || !isValidHost(hostname)) {
    return null;
  }
  return `${protocol}//${hostname}${port ? `:${port}` : ''}`;
}

/** A CSP host source: an origin, or `scheme://*.name` for every subdomain (Parti's media hosts). */
function mediaSource(origin: string): string | null {
  const wildcard = /^(https?:\/\/)\*\./i.exec(origin);
  if (!wildcard?.[1]) return originOf(origin);
  const rest = originOf(wildcard[1] + origin.slice(wildcard[0].length));
  return rest && rest.replace('//', '//*.');
}

/**
 * The player page's policy. Origins can come from what a host typed (a clip's URL, stored perhaps
 * before such URLs were checked), so each is rebuilt from its parsed form, and anything that is
 * not a clean origin is left out rather than copied into the header.
 */
export function contentSecurityPolicy(mediaOrigins: Iterable<string>, frameAncestors = "'none'"): string {
  const sources = [...mediaOrigins].map(mediaSource).filter((source): source is string => source !== null);
  const media = [...new Set(sources)].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${media}`,
    // hls.js feeds the element through MediaSource (blob:) and fetches playlists and segments itself.
    `media-src 'self' blob: ${media}`,
    `connect-src 'self' ${media}`,
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

// No user data in the shell: titles and names are filled in by the script with textContent. The one
// thing that differs between answers is whether the page's token (its cookie) was taken, which only
// the holder of a token that may see the party can make true.
// In a Discord Activity the same page is served at the Activity's root, and reaches its assets (and
// everything else) through Discord's proxy; the client id it gives the SDK is a public number.
const page = (tokenTaken: boolean, activity?: { clientId: string }): string => {
  const assets = activity ? `${PROXY_ROOT}${PARTY_PREFIX}${PLAYER_PATH}/assets` : `${PLAYER_PATH}/assets`;
  const clientId = activity && /^\d+$/.test(activity.clientId) ? activity.clientId : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="${PAGE_TOKEN_META}" content="${tokenTaken ? 'taken' : 'none'}">
${activity ? `<meta name="${ACTIVITY_CLIENT_META}" content="${clientId}">\n` : ''}<title>Watch party</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}/player.css">
<script type="module" src="${assets}/main.js"></script>
</head>
<body>
<header>
  <h1 id="title">Watch party</h1>
  <span id="people" class="pill" hidden></span>
  <span id="conn-status" class="pill" data-state="connecting" role="status" hidden>Connecting…</span>
  <span id="sync-status" class="pill" aria-live="polite" hidden></span>
  <button id="copy-invite" type="button" hidden>Copy invite link</button>
</header>
<p id="loading" class="center-note" role="status">Opening the party…</p>
<div id="gate" hidden>
  <p id="gate-about" class="muted" hidden></p>
  <p id="gate-text"></p>
  <form id="guest-form" hidden>
    <input id="guest-name" type="text" maxlength="64" required placeholder="Your display name" aria-label="Your display name" autocomplete="nickname">
    <button class="primary" type="submit">Join</button>
  </form>
</div>
<main id="app" hidden>
  <section id="stage">
    <div id="player" class="player">
    <div id="video-wrap" class="video-wrap">
      <video id="video" playsinline preload="auto"></video>
      <div id="reaction-layer" aria-hidden="true"></div>
      <div id="join-overlay" hidden><button id="join-playback" type="button">Join playback</button></div>
    </div>
    <div class="controls media-controls">
      <button id="mute" type="button" aria-label="Mute" aria-pressed="false" aria-keyshortcuts="M" title="Mute (M)"><svg class="icon icon-sound" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 9v6h4l5 5V4L7 9H3z"/><path d="M14 7.5v9a4.5 4.5 0 0 0 0-9z"/></svg><svg class="icon icon-muted" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 9v6h4l5 5V4L7 9H3z"/><path class="stroke" d="M15.5 9.5l5 5m0-5l-5 5"/></svg></button>
      <input id="volume" type="range" min="0" max="1" step="0.05" value="1" aria-label="Volume">
      <div id="reactions" role="group" aria-label="Reactions"></div>
      <button id="chat-toggle" type="button" aria-label="Chat" aria-pressed="true" aria-controls="chat" title="Show or hide the chat"><svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H10l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z"/></svg></button>
      <button id="fullscreen" type="button" aria-label="Full screen" aria-pressed="false" aria-keyshortcuts="F" title="Full screen (F)"><svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path class="stroke" d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/></svg></button>
    </div>
    </div>
    <div id="unmute-banner" hidden><span>Playing muted: your browser blocked sound.</span><button id="unmute" type="button">Unmute</button></div>
    <div id="notice" role="alert" hidden></div>
    <p id="now-playing"></p>
    <div id="controls" class="controls" hidden>
      <input id="seek" type="range" min="0" max="0" step="0.1" value="0" aria-label="Seek">
      <button id="back10" type="button" aria-label="Back 10 seconds" aria-keyshortcuts="ArrowLeft" title="Back 10 s (←)">−10 s</button>
      <button id="play-toggle" class="primary" type="button" aria-keyshortcuts="Space" title="Play or pause (Space)">Play</button>
      <button id="fwd10" type="button" aria-label="Forward 10 seconds" aria-keyshortcuts="ArrowRight" title="Forward 10 s (→)">+10 s</button>
      <button id="skip" type="button" aria-label="Skip to the next clip">Skip</button>
      <button id="go-live" type="button" hidden>Go live</button>
      <span id="time">0:00 / –:––</span>
    </div>
    <form id="add-clip" hidden>
      <input id="clip-url" type="url" required placeholder="Add a clip: Parti video link or .m3u8 / .mp4 URL" aria-label="Clip URL">
      <button type="submit">Add</button>
    </form>
    <div id="viewer-controls" class="controls" hidden>
      <button id="sync-now" type="button">Sync now</button>
    </div>
  </section>
  <aside id="side">
    <section id="chat" class="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading">Chat</h2>
      <div class="chat-body">
        <ol id="chat-log" role="log" aria-live="polite" aria-labelledby="chat-heading" tabindex="0"></ol>
        <button id="chat-new" type="button" hidden></button>
      </div>
      <p id="chat-typing" class="muted"></p>
      <p id="chat-reason" class="muted" hidden></p>
      <form id="chat-form">
        <input id="chat-input" type="text" maxlength="500" required placeholder="Say something…" aria-label="Chat message" aria-describedby="chat-reason chat-status" autocomplete="off" enterkeyhint="send">
        <button type="submit" id="chat-send">Send</button>
      </form>
      <p id="chat-status" role="status"></p>
    </section>
    <section aria-labelledby="queue-heading"><h2 id="queue-heading">Queue</h2><ol id="queue"></ol></section>
    <section aria-labelledby="people-heading"><h2 id="people-heading">People</h2><ul id="participants"></ul></section>
  </aside>
</main>
</body>
</html>
`;
};

/** Mounts the player page and its assets. Call before `listen()`, after registerPartyRoutes. */
export function registerPlayerRoutes<AppLogger extends FastifyBaseLogger>(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, AppLogger>,
  service: PartyService,
  config: Pick<Config, 'PARTI_MEDIA_URL'>,
  options: PlayerRouteOptions = {},
): void {
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const log = app.log.child({ module: 'player' });
  // Every configured recording base: a party plays from whichever of them has the recording.
  const baseMedia = [...config.PARTI_MEDIA_URL.map(originOf), ...PARTI_MEDIA_HOSTS].filter(
    (o): o is string => o !== null,
  );
  if (!existsSync(join(assetsDir, 'main.js'))) {
    log.warn({ assetsDir }, 'web player bundle missing: run `npm run build`');
  }

  let assetNames: Set<string> | null = null;
  app.get<{ Params: { file: string } }>(`${PLAYER_PATH}/assets/:file`, async (request, reply) => {
    const { file } = request.params;
    // Listed once (the bundle does not change under a running server) so a request never walks the disk.
    assetNames ??= new Set(existsSync(assetsDir) ? readdirSync(assetsDir) : []);
    if (!ASSET_NAME.test(file) || !assetNames.has(file)) {
      return reply.code(404).type('text/plain').send('not found');
    }
    const body = await readFile(join(assetsDir, file));
    // Chunks carry a content hash; the two entry files keep their names, so they are revalidated.
    const immutable = file.startsWith('chunk-');
    return reply
      .header('content-type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });

  // One page for every well-formed code, whether it names a party or not, public or private: what the
  // party is, and whether it exists, the page's script asks the API with its token. Only the CSP may
  // differ, and only for a token (the page's cookie) that may see the party: clips come from many
  // origins (direct URLs, a live stream's CDN), and the page may then load those of its queue.
  app.get<{ Params: { code: string } }>(`${PLAYER_PATH}/:code`, async (request, reply) => {
    const code = normalizeInviteCode(request.params.code);
    const queued = code ? await service.pageMediaOrigins(code, pageTokenOf(request.headers.cookie)) : null;
    const origins = [...baseMedia, ...(queued ?? [])];
    return reply
      .code(code ? 200 : 404)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', contentSecurityPolicy(origins))
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(page(queued !== null));
  });

  const { activity } = options;
  if (activity) {
    const serveActivity = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const clientId = await activity.applicationId();
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', contentSecurityPolicy([], ACTIVITY_FRAME_ANCESTORS))
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .send(page(false, { clientId }));
    };
    // Discord's proxy may ask for the root mapping's target with or without the trailing slash.
    app.get(ACTIVITY_PATH, serveActivity);
    app.get(`${ACTIVITY_PATH}/`, serveActivity);
  }
}
