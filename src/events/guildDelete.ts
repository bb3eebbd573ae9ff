// The bot left (or was removed from) a guild: its alert subscriptions and mirrored schedules go with it.
import { Events } from 'discord.js';
import { defineEvent } from './event.js';

export default defineEvent({
  name: Events.GuildDelete,
  async execute(deps, guild) {
    // An outage also arrives as GUILD_DELETE, with `available` false: keep everything then.
    if (!guild.available) return;
    const removed = await deps.alerts.forgetGuild(guild.id);
    await deps.schedules.forgetGuild(guild.id);
    deps.logger.info({ guildId: guild.id, removed }, 'left a guild; its alert subscriptions were removed');
  },
});
