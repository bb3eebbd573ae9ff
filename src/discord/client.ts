// The discord.js client: the Guilds and GuildMessages intents (a delete in a party's chat thread
// removes it from the page), GuildScheduledEvents (a member cancelling an event the bot made), the
// privileged Message Content intent only with PARTY_CHAT_BRIDGE=thread (Discord refuses a privileged
// intent the app was not granted, and the bot must start without it), and no mentions unless a
// message asks for them on purpose. SHARD_COUNT runs several gateway shards in this one
// process (discord.js's internal sharding): each shard receives its guilds' events, while the
// Parti listener, the alert delivery and the party service exist once, beside them. SHARD_IDS splits
// the shards between processes: two processes on the same shard would both answer every command.
import { Client, GatewayIntentBits, Options } from 'discord.js';
import type { Config } from '../config.js';

export function createDiscordClient(config: Config): Client {
  return new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildScheduledEvents,
      ...(config.PARTY_CHAT_BRIDGE === 'thread' ? [GatewayIntentBits.MessageContent] : []),
    ],
    rest: { api: config.DISCORD_API_URL },
    ...(config.SHARD_COUNT === 'auto'
      ? { shards: 'auto' as const }
      : config.SHARD_COUNT
        ? { shards: config.SHARD_IDS ?? [...Array(config.SHARD_COUNT).keys()], shardCount: config.SHARD_COUNT }
        : {}),
    allowedMentions: { parse: [], repliedUser: false },
    // Messages are never read back from the cache; keeping none saves memory in large guilds.
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
  });
}
