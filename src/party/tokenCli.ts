// `npm run --silent party:token -- --user <id> --name <name> [--avatar url] [--ttl 3600] [--party <id>]`
// prints one watch-party bearer token on stdout and nothing else, signed with the key the bot uses
// (PARTY_SECRET, or the one kept in the store): for operators and tests.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { configSchema } from '../config.js';
import { openStore } from '../store/index.js';
import { createTokenSigner, DEFAULT_TOKEN_TTL_SECONDS, loadPartySecret } from './tokens.js';

const USAGE =
  'usage: npm run --silent party:token -- --user <id> --name <display name> [--avatar <url>] [--ttl <seconds>] [--party <party id>]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        user: { type: 'string' },
        name: { type: 'string' },
        avatar: { type: 'string' },
        ttl: { type: 'string' },
        party: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`party:token: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const user = values.user?.trim();
  const name = values.name?.trim();
  const ttl = values.ttl === undefined ? DEFAULT_TOKEN_TTL_SECONDS : Number(values.ttl);
  if (!user || !name || !Number.isInteger(ttl) || ttl <= 0) {
    console.error(USAGE);
    return 2;
  }

  // Only the keys this needs: an operator's shell may lack DISCORD_TOKEN.
  const env: Record<string, string> = {};
  for (const key of ['STORE_URL', 'PARTY_SECRET'] as const) {
    const value = process.env[key]?.trim();
    if (value) env[key] = value;
  }
  const parsed = configSchema.pick({ STORE_URL: true, PARTY_SECRET: true }).safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    console.error(`party:token: ${String(issue?.path[0] ?? 'configuration')} ${issue?.message ?? 'is invalid'}`);
    return 1;
  }
  const config = parsed.data;

  let secret: Uint8Array;
  if (config.PARTY_SECRET) {
    secret = new TextEncoder().encode(config.PARTY_SECRET);
  } else {
    // Log lines go to stderr so stdout carries the token alone.
    const store = await openStore(config.STORE_URL, pino({ level: 'warn' }, pino.destination(2)));
    try {
      secret = await loadPartySecret(store, undefined);
    } finally {
      await store.close();
    }
  }
  const signer = createTokenSigner(secret);
  const { token } = await signer.sign(
    { id: user, name, avatar: values.avatar ?? null },
    { partyId: values.party ?? null, ttlSeconds: ttl },
  );
  process.stdout.write(`${token}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`party:token: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
