// The bot joined a guild (or one came back after an outage): one log line with its shard.
import { Events } from 'discord.js';
import { defineEvent } from './event.js';

export default defineEvent({
  name: Events.GuildCreate,
  execute(deps, guild) {
    deps.logger.info({ guildId: guild.id, shardId: guild.shardId, members: guild.memberCount }, 'guild available');
    return Promise.resolve();
  },
});
