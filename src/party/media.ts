// What a party can play: a Parti recording, a Parti creator's live stream, or a direct media URL.
// A clip keeps only its source reference; Parti's playable URLs are signed and short-lived, so
// they are resolved when a clip is added (to refuse what cannot play), when it starts playing, and
// when a player asks, through a cache short enough that a URL is never handed out stale.
import { isValidHost } from '../net/hosts.js';
import { createOutbound, OutboundRefusal, type Outbound, type OutboundOptions } from '../net/outbound.js';
import type { PartiClient } from '../parti/client.js';
import { isPartiError } from '../parti/errors.js';
import { isChannelLive } from '../parti/schemas.js';
import { liveHlsUrl, parsePartiReference, videoPageUrl, type PartiReference } from '../parti/urls.js';
import { cleanText } from '../text.js';
import { liveWindowOf, masterVariants, parseMediaPlaylist, type LiveClock, type LiveWindow } from './hls.js';

export type MediaType = 'hls' | 'mp4' | 'webm';

export type ClipSource =
  | { kind: 'parti-video'; videoId: number }
  | { kind: 'parti-live'; userId: number }
  | { kind: 'url'; url: string; mediaType: MediaType };

/** A source as typed, before any creator name is looked up. */
type ParsedSource =
  ClipSource | { kind: 'parti-creator'; reference: Extract<PartiReference, { kind: 'social' | 'name' }> };

export interface ResolvedClip {
  source: ClipSource;
  title: string;
  thumbnailUrl: string | null;
  mediaType: MediaType;
  playable: Playable;
  /** A live stream (an HLS playlist without #EXT-X-ENDLIST), as read when it was added. */
  live?: LiveClip;
}

/**
 * A live clip's positions are seconds of content after `epoch` on the playlist's shared clock (see
 * hls.ts), so every player, whenever it loaded the playlist, puts the same content at a position.
 * The window is where the playlist stood when last read, in positions at server time `at`; it slides
 * on at one second per second until the next read.
 */
export interface LiveClip {
  clock: LiveClock;
  epoch: number;
  targetDuration: number;
  window: { start: number; end: number; at: number };
}

export interface Playable {
  url: string;
  mediaType: MediaType;
  /** When the server stops handing out this URL from its cache (the URL itself may live longer). */
  expiresAt: number;
}

export type MediaErrorCode = 'INVALID_SOURCE' | 'UNPLAYABLE_SOURCE' | 'PARTI_UNAVAILABLE';

export class MediaError extends Error {
  override name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_SOURCE_LENGTH = 2048;
const DIRECT_MEDIA = /\.(m3u8|mp4|webm)$/i;
/** Signed Parti URLs live for minutes; a player asking twice within this gets the same one. */
export const PLAYABLE_CACHE_MS = 20_000;

export function sourceToString(source: ClipSource): string {
  switch (source.kind) {
    case 'parti-video':
      return `video:${source.videoId}`;
    case 'parti-live':
      return `creator:${source.userId}`;
    case 'url':
      return source.url;
  }
}

/** File names that say nothing about what plays: the folder above them names it instead. */
const GENERIC_NAMES = /^(index|master|playlist|manifest|main|stream|video|media|prog_index|chunklist|output|out)$/i;

/**
 * A readable title for a direct media URL, from its path: `…/big-buck-bunny/master.m3u8` is
 * "big buck bunny", `…/Trailer_2024.mp4` is "Trailer 2024". The host name when the path names nothing.
 */
export function titleFromUrl(url: URL): string {
  const segments = url.pathname
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  const words = (name: string) => cleanText(name.replace(/\.[a-z0-9]{2,5}$/i, '').replace(/[-_.+]+/g, ' '), 100);
  for (let i = segments.length - 1; i >= 0; i--) {
    const name = words(segments[i]!);
    if (name && !GENERIC_NAMES.test(name) && !/^\d+p?$/.test(name)) return name;
  }
  return url.hostname;
}

function toId(text: string): number | null {
  return /^\d{1,15}$/.test(text) ? Number(text) : null;
}

/**
 * An http(s) URL as typed, only if it means what it shows. The URL parser repairs or passes much of
 * what is wrong (a `%` with no two hex digits after it, a tab inside the host, `a;b.example`), and
 * what it passes ends up in a fetch, a page and its Content-Security-Policy. So: no whitespace,
 * control characters or backslashes; every `%` starts an escape; none in the host (`cdn%41.example`
 * is another host than the one shown); a host a DNS could answer for or an IP address; no user
 * name or password; a path whose escapes decode to UTF-8.
 */
function strictHttpUrl(text: string): URL | null {
  if (/[\s\p{Cc}\\]/u.test(text) || /%(?![0-9a-f]{2})/i.test(text)) return null;
  if (/^https?:\/\/[^/?#]*%/i.test(text) || !URL.canParse(text)) return null;
  const url = new URL(text);
  if (!/^https?:$/.test(url.protocol) || !isValidHost(url.hostname) || url.username || url.password) return null;
  try {
    decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  return url;
}

/** Understands `video:{id}`, `creator:{userId}`, any Parti video or creator reference, and direct media URLs. */
export function parseSource(input: string): ParsedSource | null {
  const text = input.trim();
  if (!text || text.length > MAX_SOURCE_LENGTH) return null;
  const prefixed = /^(video|creator):(\d{1,15})$/i.exec(text);
  if (prefixed?.[1] && prefixed[2]) {
    const id = toId(prefixed[2]);
    if (id === null) return null;
    return prefixed[1].toLowerCase() === 'video'
      ? { kind: 'parti-video', videoId: id }
      : { kind: 'parti-live', userId: id };
  }
  if (/^https?:\/\//i.test(text)) {
    const url = strictHttpUrl(text);
    if (!url) return null;
    if (!/^(www\.)?parti\.com$/i.test(url.hostname)) {
      const match = DIRECT_MEDIA.exec(url.pathname);
      if (!match?.[1]) return null;
      const ext = match[1].toLowerCase();
      return { kind: 'url', url: url.toString(), mediaType: ext === 'm3u8' ? 'hls' : ext === 'mp4' ? 'mp4' : 'webm' };
    }
  }
  const reference = parsePartiReference(text);
  if (!reference) return null;
  switch (reference.kind) {
    case 'video':
      return { kind: 'parti-video', videoId: reference.videoId };
    case 'id':
      return { kind: 'parti-live', userId: reference.userId };
    case 'social':
    case 'name':
      return { kind: 'parti-creator', reference };
  }
}

/**
 * parseSource, or the refusal a person gets for what it cannot read (400 INVALID_SOURCE). Synchronous
 * and cheap: a source is checked with it before anything is spent on the request.
 */
export function requireSource(input: string): ParsedSource {
  const parsed = parseSource(input);
  if (!parsed) {
    throw new MediaError(
      'INVALID_SOURCE',
      'source must be a Parti video or creator (link, id, video:ID) or an http(s) URL ending in .m3u8, .mp4 or .webm',
    );
  }
  return parsed;
}

export interface MediaResolver {
  /** Checks that a source typed by a person plays now; throws MediaError. */
  resolveNew(input: string): Promise<ResolvedClip>;
  /** The playable URL of a stored source, from the short cache or Parti; throws MediaError. */
  playable(source: ClipSource): Promise<Playable>;
  /** Reads a live HLS source's window now; null for a recording. Throws when it cannot be read. */
  liveWindow(source: ClipSource): Promise<LiveWindow | null>;
}

const PLAYLIST_TIMEOUT_MS = 5000;
const MAX_PLAYLIST_BYTES = 1024 * 1024;

/**
 * One GET of a playlist, as text. The URL may be anyone's (a direct link a host pasted): no redirect
 * is followed, the whole read has 5 s, and a body past 1 MiB is cut off and refused. What it says is
 * only ever parsed as a playlist, never shown to anyone.
 */
async function fetchPlaylist(outbound: Outbound, url: string): Promise<string> {
  const response = await outbound.request(new URL(url), {
    signal: AbortSignal.timeout(PLAYLIST_TIMEOUT_MS),
    headers: { accept: 'application/vnd.apple.mpegurl, */*' },
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`playlist answered HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early closes the body.
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_PLAYLIST_BYTES) break;
    chunks.push(chunk as Buffer);
  }
  if (size > MAX_PLAYLIST_BYTES) throw new Error('playlist too large');
  return Buffer.concat(chunks).toString('utf8');
}

export function createMediaResolver(deps: {
  parti: PartiClient;
  now?: () => number;
  /** How long a resolved playable URL is handed out again (the player is told to refresh then). */
  playableCacheMs?: number;
  /** Where playlists may be read from, and through which proxy (src/net/outbound.ts). */
  outbound?: OutboundOptions;
}): MediaResolver {
  const { parti } = deps;
  const outbound = createOutbound(deps.outbound);
  const now = deps.now ?? Date.now;
  const playableCacheMs = deps.playableCacheMs ?? PLAYABLE_CACHE_MS;
  const cache = new Map<string, Playable>();

  function partiFailure(error: unknown, notFound: string): MediaError {
    if (isPartiError(error, 'not_found')) return new MediaError('UNPLAYABLE_SOURCE', notFound);
    if (isPartiError(error)) return new MediaError('PARTI_UNAVAILABLE', 'Parti did not answer; try again in a moment');
    throw error;
  }

  async function describe(source: ClipSource): Promise<Omit<ResolvedClip, 'source'>> {
    const expiresAt = now() + playableCacheMs;
    switch (source.kind) {
      case 'url': {
        const playable = { url: source.url, mediaType: source.mediaType, expiresAt: Number.POSITIVE_INFINITY };
        return { title: titleFromUrl(new URL(source.url)), thumbnailUrl: null, mediaType: source.mediaType, playable };
      }
      case 'parti-video': {
        let stream;
        let url;
        try {
          stream = await parti.getRecentStream(source.videoId);
          // On whichever of Parti's media hosts has it now.
          url = await parti.getRecordingUrl(stream.livestream_recording);
        } catch (error) {
          throw partiFailure(error, `Parti has no video ${source.videoId}`);
        }
        if (!url) throw new MediaError('UNPLAYABLE_SOURCE', `Parti video ${source.videoId} has no recording to play`);
        const title = cleanText([stream.event_title, stream.user_name].filter(Boolean).join(' — '), 100);
        return {
          title: title || videoPageUrl(source.videoId),
          thumbnailUrl: stream.event_file ?? null,
          mediaType: 'hls',
          playable: { url, mediaType: 'hls', expiresAt },
        };
      }
      case 'parti-live': {
        let info;
        try {
          info = await parti.getChannelInfo(source.userId);
        } catch (error) {
          throw partiFailure(error, `Parti has no creator ${source.userId}`);
        }
        const channel = info.channel_info?.channel;
        const url = isChannelLive(info) ? liveHlsUrl(channel?.playback_url, channel?.playback_auth_token) : null;
        if (!url) throw new MediaError('UNPLAYABLE_SOURCE', `Parti creator ${source.userId} is not live`);
        const title = cleanText(info.channel_info?.livestream_event_info?.event_name ?? '', 100);
        return {
          title: title || `Parti creator ${source.userId} (live)`,
          thumbnailUrl: info.channel_info?.livestream_event_info?.livestream_preview_file ?? null,
          mediaType: 'hls',
          playable: { url, mediaType: 'hls', expiresAt },
        };
      }
    }
  }

  async function toSource(parsed: ParsedSource): Promise<ClipSource> {
    if (parsed.kind !== 'parti-creator') return parsed;
    const { reference } = parsed;
    try {
      const userId =
        reference.kind === 'name'
          ? await parti.getUserIdByName(reference.name)
          : await parti.getUserIdBySocialMedia(reference.service, reference.name);
      return { kind: 'parti-live', userId };
    } catch (error) {
      const name = reference.kind === 'name' ? reference.name : `${reference.service}:${reference.name}`;
      throw partiFailure(error, `Parti has no creator ${name}`);
    }
  }

  async function playable(source: ClipSource): Promise<Playable> {
    const key = sourceToString(source);
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return hit;
    const { playable } = await describe(source);
    // Expired entries are only ever replaced, so the map stays as small as the set of sources in use.
    if (cache.size > 1000) cache.clear();
    cache.set(key, playable);
    return playable;
  }

  /** The window of an HLS source's media playlist (the first variant of a master), null for a recording. */
  async function liveWindow(source: ClipSource): Promise<LiveWindow | null> {
    if (source.kind === 'parti-video' || (source.kind === 'url' && source.mediaType !== 'hls')) return null;
    const { url } = await playable(source);
    let text = await fetchPlaylist(outbound, url);
    const variant = masterVariants(text)?.[0];
    if (variant !== undefined) text = await fetchPlaylist(outbound, new URL(variant, url).href);
    const playlist = parseMediaPlaylist(text);
    if (!playlist) throw new Error('not an HLS playlist');
    return liveWindowOf(playlist);
  }

  /**
   * A new clip's live window, or null for a recording. A playlist that cannot be read now is still a
   * clip (it plays as a recording would), but one at an address the server will not read from is
   * refused: the same URL would otherwise be accepted, and put in front of every viewer's browser.
   * Links the server never reads (.mp4, .webm) are held to the same addresses.
   */
  async function probeLive(source: ClipSource): Promise<LiveWindow | null> {
    try {
      if (source.kind === 'url' && source.mediaType !== 'hls') await outbound.check(new URL(source.url));
      return await liveWindow(source);
    } catch (error) {
      if (error instanceof OutboundRefusal) throw new MediaError('INVALID_SOURCE', 'that address is not allowed');
      return null;
    }
  }

  return {
    playable,
    liveWindow,

    async resolveNew(input) {
      const source = await toSource(requireSource(input));
      const resolved = await describe(source);
      cache.set(sourceToString(source), resolved.playable);
      const window = await probeLive(source);
      if (!window) return { source, ...resolved };
      // Positions start at the window's start as it is now, so they read like seconds since the party tuned in.
      const live: LiveClip = {
        clock: window.clock,
        epoch: window.start,
        targetDuration: window.targetDuration,
        window: { start: 0, end: window.end - window.start, at: now() },
      };
      return { source, ...resolved, live };
    },
  };
}
