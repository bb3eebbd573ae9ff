// The bot's whole configuration: one zod schema over the environment, parsed once at start.
// A bad or missing key becomes one line naming the key, never a stack trace.
import { z } from 'zod';
import { parseTrustProxy } from './http/clientAddress.js';

const snowflake = z.string().regex(/^\d{17,20}$/, 'must be a Discord id (17 to 20 digits)');
const httpUrl = z.url({ protocol: /^https?$/ });
const wsUrl = z.url({ protocol: /^wss?$/ });
/** Comma-separated http(s) URLs, tried in order; trailing slashes dropped. */
const httpUrlList = z
  .string()
  .transform((list) => [...new Set(list.split(',').map((url) => url.trim().replace(/\/+$/, '')))])
  .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be http(s) URLs separated by commas' })));

export const configSchema = z.object({
  DISCORD_TOKEN: z
    .string({ error: 'is not set' })
    .min(1, 'is empty')
    .describe('the bot token from the Discord developer portal (Bot → Reset Token)'),
  DISCORD_API_URL: httpUrl
    .default('https://discord.com/api')
    .describe('Discord REST base handed to discord.js as rest.api; the gateway URL comes from GET /v10/gateway/bot'),
  DISCORD_GUILD_ID: snowflake
    .optional()
    .describe('register slash commands to this guild only (instant, for development); unset registers globally'),
  SHARD_COUNT: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(1000)])
    .optional()
    .describe('gateway shards this process runs: a number, or auto for what Discord recommends; unset: one'),
  SHARD_IDS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be shard numbers separated by commas, e.g. 0,1')
    .transform((list) => [...new Set(list.split(',').map(Number))])
    .optional()
    .describe(
      'with several processes: which of SHARD_COUNT shards this one runs (e.g. 0 here and 1 in the other); unset: all',
    ),
  PARTI_API_URL: httpUrlList
    .prefault(
      'https://prod-api.parti.com/parti_v2,https://api.parti.com/parti_v2,https://api-backend.parti.com/parti_v2',
    )
    .describe(
      'Parti HTTP API bases, comma-separated, tried in order (one that cannot be reached is skipped a while); one base pins it',
    ),
  PARTI_WS_URL: wsUrl.default('wss://ws-backend.parti.com/').describe('Parti push socket'),
  PARTI_MEDIA_URL: httpUrlList
    .prefault('https://media.parti.com,https://watch.parti.com')
    .describe('bases of Parti recording paths, comma-separated, tried in order like PARTI_API_URL'),
  PARTI_PROXY_URL: httpUrl
    .optional()
    .describe('HTTP proxy for every Parti request, the push socket and the media playlists the bot reads'),
  STORE_URL: z
    .string()
    .regex(/^(sqlite|redis|rediss):\/\/.+/, 'must start with sqlite:// or redis://')
    .default('sqlite://data/parti-bot.sqlite')
    .describe('keyv store: sqlite://path/to/file.sqlite or redis://host:port[/db][?prefix=name]'),
  HTTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('port of the bot HTTP server (health, parties, web player); 0 picks a free one'),
  HTTP_HOST: z.string().min(1).default('0.0.0.0').describe('address the HTTP server binds to'),
  PARTY_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe('HS256 key signing watch-party tokens; unset: 32 random bytes generated once and kept in the store'),
  PARTY_MAX_PARTICIPANTS: z.coerce
    .number()
    .int()
    .min(2)
    .max(100_000)
    .default(1000)
    .describe('the largest max_participants a watch party may ask for (each party defaults to 100)'),
  MEDIA_ALLOW_PRIVATE: z
    .stringbool({ error: 'must be true or false' })
    .default(false)
    .describe(
      'true: clip URLs may point at loopback, private and link-local addresses (media on your LAN); false refuses them',
    ),
  PARTY_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((list) => [
      ...new Set(
        list
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(
      z.array(
        z
          .url({ protocol: /^https?$/, error: 'must be origins like https://app.example.com, separated by commas' })
          .refine((origin) => new URL(origin).origin === origin, {
            error: 'must be origins (scheme, host, port; no path or trailing slash)',
          }),
      ),
    )
    .describe(
      'browser apps on these origins may call the watch-party REST API (CORS) and open its socket; empty: only the player page',
    ),
  PARTY_CHAT_BRIDGE: z
    .enum(['off', 'thread'], { error: 'must be off or thread' })
    .default('off')
    .describe(
      'thread: messages written in a party’s Discord thread show on the page too (needs the Message Content intent, enabled in the Developer Portal); off: the thread only receives the page’s chat',
    ),
  PUBLIC_URL: httpUrl
    .default('http://localhost:8080')
    .transform((url) => url.replace(/\/+$/, ''))
    .describe('base of the links the bot gives to users'),
  DISCORD_CLIENT_SECRET: z
    .string()
    .regex(/^[\w-]{16,128}$/, 'must be the OAuth2 client secret from the Discord developer portal')
    .optional()
    .describe(
      'OAuth2 client secret (developer portal → OAuth2 → Client Secret): turns on the watch-party Activity; unset: off',
    ),
  ACTIVITY_MEDIA_ORIGINS: httpUrlList
    .optional()
    .describe(
      'origins of direct clip links the Activity may play, comma-separated; each needs its URL mapping (npm run activity:mappings)',
    ),
  ALERT_POLL_SECONDS: z.coerce
    .number()
    .min(1)
    .max(3600)
    .default(60)
    .describe(
      'how often the live list is read to fill gaps in the push feed, refresh viewer counts and see streams end',
    ),
  ALERT_GRACE_SECONDS: z.coerce
    .number()
    .min(0)
    .max(86400)
    .default(600)
    .describe(
      'a creator who is back live within this many seconds gets the existing alert card edited, not a new ping',
    ),
  ALERT_EDIT_SECONDS: z.coerce
    .number()
    .min(1)
    .max(86400)
    .default(300)
    .describe('at most one viewer-count edit of a live alert card per this many seconds'),
  ALERT_CATEGORY_CAP_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe('most alerts one category subscription posts per hour'),
  ALERT_LEASE_SECONDS: z.coerce
    .number()
    .min(1)
    .max(600)
    .default(15)
    .describe(
      'with several processes on one Redis: one holds the alert lease and delivers; another takes over this long after it dies',
    ),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    })
    .describe(
      'which proxies may name the client address in X-Forwarded-For: off (default), a hop count, or proxy addresses/CIDRs (loopback, 10.0.0.0/8, …)',
    ),
  PARTY_CREATES_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(10)
    .describe('watch parties one person may create per hour'),
  PARTY_CREATES_PER_IP_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(10)
    .describe('watch parties one client address may create per hour through the API, whoever signs in'),
  PARTY_JOINS_PER_HOUR: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(30)
    .describe('watch-party joins per person per hour, and guest joins per client address per hour'),
  PARTY_CODE_MISSES_PER_IP: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe(
      'wrong invite codes one client address may try per 10 minutes before every code lookup from it is refused',
    ),
  PARTY_SOCKETS_PER_PERSON: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(8)
    .describe('open players (sockets) one person may have in one party on one server process'),
  PARTY_BAD_UPGRADES_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(30)
    .describe('refused socket upgrades (no or bad token, not admitted) per client address per minute'),
  PARTY_COMMANDS_PER_SECOND: z.coerce
    .number()
    .min(0.1)
    .max(100)
    .default(2)
    .describe(
      'playback commands (play, pause, seek, skip…) one person may send per second, from the player, the API and Discord together, with a burst of five times as many',
    ),
  PARTY_LEASE_SECONDS: z.coerce
    .number()
    .min(1)
    .max(600)
    .default(10)
    .describe(
      'with several processes on one Redis: each watch party has one owning process; another takes it over this long after it dies',
    ),
  ALERT_MAX_PER_GUILD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(50)
    .describe('most alert subscriptions one server may have'),
  EVENTS_DEFAULT_HOURS: z.coerce
    .number()
    .min(0.25)
    .max(24)
    .default(2)
    .describe('how long a mirrored Parti schedule lasts in the Events tab when Parti gives no end, in hours'),
  EVENTS_RECONCILE_SECONDS: z.coerce
    .number()
    .min(1)
    .max(86400)
    .default(900)
    .describe(
      "how often Parti's calendar is read again to create, move, rename and cancel the mirrored events (also at start)",
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once. Empty strings count as unset, so `KEY=` in .env means "use the default". */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key]?.trim();
    if (value) input[key] = value;
  }
  const result = configSchema.safeParse(input);
  if (result.success) {
    const { SHARD_COUNT, SHARD_IDS } = result.data;
    if (SHARD_IDS && (typeof SHARD_COUNT !== 'number' || SHARD_IDS.some((id) => id >= SHARD_COUNT))) {
      throw new ConfigError(
        'SHARD_IDS needs SHARD_COUNT set to a number larger than every id in it: set both in .env or the environment',
      );
    }
    return result.data;
  }
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? 'configuration');
  const described = configSchema.shape[key as keyof typeof configSchema.shape]?.description;
  const hint = described ? ` (${described})` : '';
  throw new ConfigError(`${key} ${issue?.message ?? 'is invalid'}: set ${key} in .env or the environment${hint}`);
}
