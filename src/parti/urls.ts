// Pure helpers for Parti's public URLs, and the parser that turns whatever a user types
// (an id, a creator page link, `discord:name`, a bare name) into something the client can look up.
export const PARTI_WEB_ORIGIN = 'https://parti.com';
/** The player version the web app sends with live playback URLs. */
export const PARTI_PLAYER_VERSION = '1.17.0';

export const SOCIAL_SERVICES = ['parti', 'discord', 'twitter', 'telegram'] as const;
export type SocialService = (typeof SOCIAL_SERVICES)[number];

export function isSocialService(value: string): value is SocialService {
  return (SOCIAL_SERVICES as readonly string[]).includes(value);
}

/** Splits a Discord handle into username and discriminator; new-style accounts have discriminator 0. */
function splitDiscord(handle: string): { username: string; discriminator: string } {
  const match = /^(.*)#(\d{1,4})$/.exec(handle);
  if (match) return { username: match[1] ?? '', discriminator: match[2] ?? '0' };
  return { username: handle, discriminator: '0' };
}

/**
 * How the bot links a creator's page: the one place to change it. `{service}` and `{slug}` are filled
 * in, percent-encoded; a Discord slug is `{username}/{discriminator}`. Parti's site today:
 * `https://parti.com/{slug}`; until 2025 it was `https://parti.com/creator/{service}/{slug}`, which
 * older posts still link to (and which the parser below still reads).
 */
export const CREATOR_PAGE_TEMPLATE = `${PARTI_WEB_ORIGIN}/{slug}`;

/**
 * A path segment percent-encoded, parentheses too: the link goes inside Discord's `[text](url)`,
 * which a `)` from a creator's name would otherwise close.
 */
function pathSegment(text: string): string {
  return encodeURIComponent(text).replace(/[()]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A creator's public page (see CREATOR_PAGE_TEMPLATE), from the account they signed up with. For
 * Discord pass `username`, `username#1234` or `username/1234`.
 */
export function creatorPageUrl(socialMedia: string, slug: string): string {
  const service = socialMedia.trim().toLowerCase();
  let path = pathSegment(slug.trim());
  if (service === 'discord') {
    const { username, discriminator } = splitDiscord(slug.trim().replace(/\/(\d{1,4})$/, '#$1'));
    path = `${pathSegment(username)}/${discriminator}`;
  }
  return CREATOR_PAGE_TEMPLATE.replace('{service}', encodeURIComponent(service)).replace('{slug}', path);
}

/** A recorded stream's page: `https://parti.com/video/{event_id}`. */
export function videoPageUrl(eventId: number | string): string {
  return `${PARTI_WEB_ORIGIN}/video/${encodeURIComponent(String(eventId))}`;
}

/**
 * Joins a `livestream_recording` path to a media base (https://media.parti.com, or the fake's).
 * A recording that is already an absolute URL is returned unchanged. Signed and short-lived: never store.
 */
export function recordingUrl(mediaBase: string, livestreamRecording: string | null | undefined): string | null {
  const recording = livestreamRecording?.trim();
  if (!recording) return null;
  if (/^https?:\/\//i.test(recording)) return recording;
  return `${mediaBase.replace(/\/+$/, '')}/${recording.replace(/^\/+/, '')}`;
}

/** Query parameters that make a URL carry its own access token (IVS `token`, CDN signatures). */
const SIGNED_QUERY = /^(token|sig|signature|policy|hdnts|x-amz-signature|__token__)$/i;

/**
 * The playable HLS URL of a live channel. Newer answers carry a `playback_url` that is already signed
 * (its own token in the query) and plays as it is; otherwise, as in the captures, the token is appended:
 * `{playback_url}?token={playback_auth_token}&player_version=1.17.0`. Null when there is no playback
 * URL. Signed and short-lived: resolve when a party starts, never store.
 */
export function liveHlsUrl(
  playbackUrl: string | null | undefined,
  playbackAuthToken: string | null | undefined,
): string | null {
  const base = playbackUrl?.trim();
  if (!base) return null;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return null;
  }
  if ([...url.searchParams.keys()].some((key) => SIGNED_QUERY.test(key))) return url.toString();
  if (playbackAuthToken) url.searchParams.set('token', playbackAuthToken);
  url.searchParams.set('player_version', PARTI_PLAYER_VERSION);
  return url.toString();
}

export type PartiReference =
  | { kind: 'id'; userId: number }
  | { kind: 'social'; service: SocialService; name: string }
  /** A page slug or bare name: `user_id_from_name` first, then the social route (see PartiClient.getUserIdByName). */
  | { kind: 'name'; name: string }
  | { kind: 'video'; videoId: number };

const MAX_REFERENCE_LENGTH = 100;

/** First path segments of parti.com that are the site's own pages, never a creator's slug. */
const SITE_PATHS = new Set([
  'about',
  'account',
  'admin',
  'api',
  'assets',
  'auth',
  'blog',
  'calendar',
  'categories',
  'category',
  'channel',
  'channels',
  'clip',
  'clips',
  'contact',
  'cookies',
  'creator',
  'creators',
  'dashboard',
  'download',
  'explore',
  'faq',
  'favicon.ico',
  'featured',
  'feed',
  'followers',
  'following',
  'guidelines',
  'help',
  'home',
  'inbox',
  'leaderboard',
  'legal',
  'live',
  'login',
  'logout',
  'messages',
  'notifications',
  'parti_v2',
  'privacy',
  'profile',
  'recent',
  'register',
  'robots.txt',
  'rewards',
  'schedule',
  'search',
  'settings',
  'shop',
  'signin',
  'signup',
  'sitemap.xml',
  'static',
  'store',
  'stream',
  'studio',
  'support',
  'terms',
  'upload',
  'user',
  'users',
  'video',
  'videos',
  'wallet',
  'watch',
]);

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function toId(text: string): number | null {
  if (!/^\d{1,15}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function social(service: SocialService, rawName: string): PartiReference | null {
  let name = rawName.trim();
  if (!name || name.includes('/') || [...name].some((char) => char.charCodeAt(0) < 0x20 || char === '\u007f')) {
    return null;
  }
  if (service === 'discord') {
    const { username, discriminator } = splitDiscord(name);
    if (!username.trim()) return null;
    name = `${username}#${discriminator}`;
  }
  return { kind: 'social', service, name };
}

/** A slug as on a creator page (`name`, or `username/discriminator` for a Discord account), or a bare name. */
function named(rawName: string): PartiReference | null {
  const name = rawName.trim().replace(/^@/, '');
  if (!/^[^/]+(\/\d{1,4})?$/.test(name) || [...name].some((char) => char.charCodeAt(0) < 0x20 || char === '\u007f')) {
    return null;
  }
  return { kind: 'name', name };
}

/** Parses `parti.com/...` paths (scheme and `www.` already removed). */
function parsePartiPath(path: string): PartiReference | null {
  const segments = path
    .replace(/[?#].*$/, '')
    .split('/')
    .filter((segment) => segment.length > 0)
    .map(decodeSegment);
  if (segments.some((segment) => segment === null)) return null;
  const [section, first, second, third] = segments as string[];
  if (section === 'video' && first !== undefined) {
    const videoId = toId(first);
    return videoId === null ? null : { kind: 'video', videoId };
  }
  if (section === 'creator' && first !== undefined && second !== undefined) {
    const service = first.toLowerCase();
    if (!isSocialService(service)) return null;
    if (service === 'discord') {
      const discriminator = third !== undefined && /^\d{1,4}$/.test(third) ? third : '0';
      return social('discord', `${second}#${discriminator}`);
    }
    return social(service, second);
  }
  // Today's form: parti.com/{slug}, and parti.com/{username}/{discriminator} for a Discord account.
  if (section === undefined || SITE_PATHS.has(section.toLowerCase())) return null;
  if (first === undefined) return named(section);
  if (second === undefined && /^\d{1,4}$/.test(first)) return named(`${section}/${first}`);
  return null;
}

/**
 * Understands what a user may type to name a Parti creator or video:
 * - a numeric user id: `353044`
 * - a creator page: `https://parti.com/247CryptoTracker`, or the older
 *   `https://parti.com/creator/twitter/KickBalthierGR`, `parti.com/creator/discord/drb666/0`
 * - a video page: `https://www.parti.com/video/80892`
 * - `service:name` for parti, discord, twitter, telegram (`discord:drb666` means `drb666#0`)
 * - a bare name, looked up like a page slug (`@name` too); `name#1234` is taken as a Discord handle
 * Answers null for anything else (empty, too long, another site's URL).
 */
export function parsePartiReference(input: string): PartiReference | null {
  const text = input.trim();
  if (!text || text.length > MAX_REFERENCE_LENGTH) return null;

  const userId = toId(text);
  if (userId !== null) return { kind: 'id', userId };

  const withoutScheme = text.replace(/^https?:\/\//i, '');
  const host = /^(?:www\.)?parti\.com(?=[/?#]|$)/i.exec(withoutScheme);
  if (host) return parsePartiPath(withoutScheme.slice(host[0].length));
  if (withoutScheme !== text || /^[\w.-]+\.[a-z]{2,}\//i.test(text)) return null; // some other site

  const prefixed = /^([a-z]+):(.*)$/i.exec(text);
  if (prefixed?.[1] && prefixed[2] !== undefined) {
    const service = prefixed[1].toLowerCase();
    if (isSocialService(service)) return social(service, prefixed[2]);
    return null;
  }

  if (/#\d{1,4}$/.test(text)) return social('discord', text.replace(/^@/, ''));
  return named(text);
}
