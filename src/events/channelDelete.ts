// A channel with alerts was deleted: its subscriptions are paused and flagged for /alerts list,
// so admins see what happened instead of alerts silently stopping.
import { Events } from 'discord.js';
import { defineEvent } from './event.js';

export default defineEvent({
  name: Events.ChannelDelete,
  async execute(deps, channel) {
    if (channel.isDMBased()) return;
    const paused = await deps.alerts.channelDeleted(channel.guildId, channel.id);
    if (paused > 0)
      deps.logger.info({ guildId: channel.guildId, channelId: channel.id, paused }, 'alert channel deleted');
  },
});
