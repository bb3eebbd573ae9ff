// The discord.js client: only the Guilds intent (no privileged intents), and no mentions
// unless a message asks for them on purpose.
import { Client, GatewayIntentBits, Options } from 'discord.js';
import type { Config } from '../config.js';

export function createDiscordClient(config: Config): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: config.DISCORD_API_URL },
    allowedMentions: { parse: [], repliedUser: false },
    // Messages are never read back from the cache; keeping none saves memory in large guilds.
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
  });
}
