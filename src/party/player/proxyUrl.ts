// The Activity's URL mappings as data, shared by the server (which derives them from the config and
// prints them for the Developer Portal: activityMappings.ts) and the web player (which turns every URL
// it would fetch into its `/.proxy/…` form, since a page inside Discord may reach nothing else).
// Pure: no Node and no DOM, so both sides import it.

/** One URL mapping as the Developer Portal takes it: a path prefix and the https target it stands for. */
export interface ProxyMapping {
  /** `/party`, `/media/media.parti.com`, or `/parti/{subdomain}` (Discord's parameter matching). */
  prefix: string;
  /** `https://host[:port][/path]`; `{subdomain}` in the host matches one DNS label. */
  target: string;
}

/** Where Discord's proxy serves the mappings inside an Activity. */
export const PROXY_ROOT = '/.proxy';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The `/.proxy/…` path that reaches `url` through the first mapping whose target it falls under, or
 * null when none does (the page cannot reach it from inside Discord). The root mapping (`/`) is the
 * Activity's own page, never a way out.
 */
export function proxiedUrl(url: string, mappings: readonly ProxyMapping[]): string | null {
  if (!URL.canParse(url)) return null;
  const parsed = new URL(url);
  const full = `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search}`;
  for (const { prefix, target } of mappings) {
    if (prefix === '/') continue;
    const base = target.replace(/\/+$/, '');
    const pattern = new RegExp(
      `^${escapeRegExp(base).replace(escapeRegExp('{subdomain}'), '([a-z0-9-]+)')}(?=[/?]|$)(.*)$`,
      'i',
    );
    const match = pattern.exec(full);
    if (!match) continue;
    const subdomain = base.includes('{subdomain}') ? (match[1] ?? '') : '';
    const rest = match[base.includes('{subdomain}') ? 2 : 1] ?? '';
    return `${PROXY_ROOT}${prefix.replace('{subdomain}', subdomain)}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
  }
  return null;
}
