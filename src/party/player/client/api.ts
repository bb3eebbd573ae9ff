// The one place the page builds the party server's URLs (REST and socket). Everything goes through
// apiUrl/socketUrl, so a page served under a path prefix (a Discord Activity's /.proxy) sets it once.
import { getToken } from './token.js';

const API = '/api/v1/watch-parties';
let prefix = '';

/** Puts `value` (e.g. '/.proxy') in front of every API and socket path. */
export function setUrlPrefix(value: string): void {
  prefix = value;
}

export function apiUrl(path: string): string {
  return `${prefix}${API}${path}`;
}

export function socketUrl(partyId: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${apiUrl(`/${partyId}/ws`)}`;
}

/** A REST call with the page's token. */
export async function authed(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(apiUrl(path), { ...init, headers });
}
