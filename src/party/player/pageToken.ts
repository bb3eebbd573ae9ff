// The player page's own copy of its token, as a cookie on the party's page path only. A page is the
// same for every invite code (its headers say nothing of a party to a stranger), so the one thing
// that lets its Content-Security-Policy name a party's media origins is a token that may see that
// party: the page stores it here once it has one, and the server reads it when the page is loaded
// again. It is sent to the page's path only, never to the API (which reads the Authorization header).
export const PAGE_TOKEN_COOKIE = 'watch_party_token';
/**
 * The page says in this meta tag whether the server took its cookie (`taken`) or not (`none`): a page
 * holding a token the server did not see stores it and loads itself once more, before it loads media.
 */
export const PAGE_TOKEN_META = 'watch-party-page-token';

/** In a Discord Activity, the page names the application id the Embedded App SDK is started with. */
export const ACTIVITY_CLIENT_META = 'discord-client-id';

/** Where the player pages are: `{PLAYER_PATH}/{code}` is a party's invite link. */
export const PLAYER_PATH = '/watch-parties';

/** The path a party's page, and so its cookie, lives under. */
export const pagePath = (code: string): string => `${PLAYER_PATH}/${code.toUpperCase()}`;

/** The page token in a Cookie header, if any. */
export function pageTokenOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === PAGE_TOKEN_COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}
