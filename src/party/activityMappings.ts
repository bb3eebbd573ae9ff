// The URL mappings the watch-party Activity needs, from the bot's config: what an operator enters in
// the Developer Portal (Activities → URL Mappings), and what the page uses to reach the party server
// and the media through Discord's proxy. `npm run activity:mappings` prints them.
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import type { ProxyMapping } from './player/proxyUrl.js';

/** Where the bot serves the Activity's page: the target of the root mapping. */
export const ACTIVITY_PATH = '/activity';
/** The mapping that reaches the party server (its API, socket and the player's assets). */
export const PARTY_PREFIX = '/party';
/** Parti's own hosts (live CDNs among them), by parameter matching on the first label. */
const PARTI_WILDCARD: ProxyMapping = { prefix: '/parti/{subdomain}', target: 'https://{subdomain}.parti.com' };

/** `/media/host` (a port becomes `-port`: a colon has no place in a prefix). */
const mediaPrefix = (origin: URL): string => `/media/${origin.hostname}${origin.port ? `-${origin.port}` : ''}`;

export function activityMappings(
  config: Pick<Config, 'PUBLIC_URL' | 'PARTI_MEDIA_URL'> & { ACTIVITY_MEDIA_ORIGINS?: string[] | undefined },
): ProxyMapping[] {
  const server = config.PUBLIC_URL.replace(/\/+$/, '');
  const media = new Map<string, ProxyMapping>();
  for (const url of [...config.PARTI_MEDIA_URL, ...(config.ACTIVITY_MEDIA_ORIGINS ?? [])]) {
    const origin = new URL(url);
    media.set(origin.origin, { prefix: mediaPrefix(origin), target: origin.origin });
  }
  return [
    { prefix: '/', target: `${server}${ACTIVITY_PATH}` },
    { prefix: PARTY_PREFIX, target: server },
    ...media.values(),
    PARTI_WILDCARD,
  ];
}

/** The rows as the Developer Portal takes them: a prefix and a target without its scheme. */
export function formatMappings(mappings: readonly ProxyMapping[]): string {
  const width = Math.max(...mappings.map((row) => row.prefix.length), 'PREFIX'.length);
  const rows = mappings.map((row) => `${row.prefix.padEnd(width)}  ${row.target.replace(/^https?:\/\//, '')}`);
  return [`${'PREFIX'.padEnd(width)}  TARGET`, ...rows].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { ConfigError, loadConfig } = await import('../config.js');
  try {
    const config = loadConfig();
    console.log(formatMappings(activityMappings(config)));
    if (!config.PUBLIC_URL.startsWith('https://')) {
      console.error('note: Discord reaches the targets over https; PUBLIC_URL should be your https address');
    }
    if (!config.DISCORD_CLIENT_SECRET) console.error('note: DISCORD_CLIENT_SECRET is not set: the Activity is off');
  } catch (error) {
    console.error(`parti-bot activity:mappings: ${error instanceof ConfigError ? error.message : String(error)}`);
    process.exit(1);
  }
}
