// The one place the page obtains and keeps its token: from the link's fragment, kept in
// sessionStorage for reloads and in a cookie on the page's own path (for the page's CSP), or from a
// guest join. `inviteCode` is the code in the page's address.
import { PAGE_TOKEN_COOKIE, PAGE_TOKEN_META, pagePath } from '../pageToken.js';

export let inviteCode = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
/** Inside Discord (activity.ts): no link, no cookie, no CSP reload; the sign-in gave code and token. */
let fromActivity = false;
const tokenKey = `watch-party-token:${inviteCode.toUpperCase()}`;

/** The token arrives in the fragment (never sent to a server); keep it for reloads, then hide it. */
function takeToken(): string | null {
  const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  if (match?.[1]) {
    sessionStorage.setItem(tokenKey, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(tokenKey);
}

/**
 * The page keeps its token in a cookie on its own path too: the server then lets this page's CSP name
 * the media origins of the party's queue when it is loaded again (pageToken.ts). Null forgets it.
 */
function keepPageToken(value: string | null): void {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  const lifetime = value ? `Max-Age=${12 * 60 * 60}` : 'Max-Age=0';
  document.cookie = `${PAGE_TOKEN_COOKIE}=${value ?? ''}; Path=${pagePath(inviteCode)}; ${lifetime}; SameSite=Strict${secure}`;
}

let token = takeToken();
if (token) keepPageToken(token);

export function getToken(): string | null {
  return token;
}

/** A new token (a guest join), or null to forget a refused one. */
export function setToken(value: string | null): void {
  token = value;
  if (value) sessionStorage.setItem(tokenKey, value);
  else sessionStorage.removeItem(tokenKey);
  keepPageToken(value);
}

/** The party and token an Activity's sign-in gave (activity.ts). */
export function useActivitySession(code: string, value: string): void {
  fromActivity = true;
  inviteCode = code;
  token = value;
}

/**
 * A page served before the server saw its token (a first visit, or just after a guest join) has a CSP
 * that names no media of the party: it loads itself again, once, now that the cookie is set.
 */
export function reloadForMedia(): boolean {
  const taken = document.querySelector(`meta[name="${PAGE_TOKEN_META}"]`)?.getAttribute('content') === 'taken';
  const once = `watch-party-page-reload:${inviteCode.toUpperCase()}`;
  // Inside Discord every media origin is the page's own (the proxy): its CSP needs nothing more.
  if (!token || taken || fromActivity || sessionStorage.getItem(once)) return false;
  sessionStorage.setItem(once, '1');
  location.reload();
  return true;
}
