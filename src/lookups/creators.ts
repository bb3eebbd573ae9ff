// Finding a Parti creator from whatever a member typed, and the creator card /parti user and
// /parti whois show: profile, linked account, live now, and the last few streams.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, type BaseMessageOptions } from 'discord.js';
import type { PartiClient } from '../parti/client.js';
import { isPartiError } from '../parti/errors.js';
import { isChannelLive, type ChannelInfo, type LiveChannel, type UserProfile } from '../parti/schemas.js';
import { creatorPageUrl, parsePartiReference, videoPageUrl, type SocialService } from '../parti/urls.js';
import { colors, discordTime, escapeDiscord, truncate } from '../discord/format.js';
import { UserError } from '../errors.js';
import { lookupStrings as t } from './strings.js';

/** The Parti user id behind a query: an id, a creator or video link, `service:name` or a bare Parti name. */
export async function resolvePartiUser(parti: PartiClient, query: string): Promise<number> {
  const reference = parsePartiReference(query);
  if (!reference) throw new UserError(t.unreadableQuery(query));
  switch (reference.kind) {
    case 'id':
      return reference.userId;
    case 'video':
      try {
        return (await parti.getRecentStream(reference.videoId)).user_id;
      } catch (error) {
        if (isPartiError(error, 'not_found')) throw new UserError(t.unknownVideo(reference.videoId));
        throw error;
      }
    case 'social':
      return resolveSocial(parti, reference.service, reference.name);
    case 'name':
      try {
        return await parti.getUserIdByName(reference.name);
      } catch (error) {
        if (isPartiError(error, 'not_found')) throw new UserError(t.unknownName(reference.name));
        throw error;
      }
  }
}

export async function resolveSocial(parti: PartiClient, service: SocialService, name: string): Promise<number> {
  try {
    return await parti.getUserIdBySocialMedia(service, name);
  } catch (error) {
    if (isPartiError(error, 'not_found')) throw new UserError(t.unknownSocial(service, name));
    throw error;
  }
}

/** The page a link to this creator should open, from the account they signed up with. */
export function creatorUrl(
  profile: Pick<UserProfile, 'social_media' | 'social_username' | 'user_name'>,
): string | null {
  if (profile.social_media && profile.social_username) {
    return creatorPageUrl(profile.social_media, profile.social_username);
  }
  return profile.user_name ? creatorPageUrl('parti', profile.user_name) : null;
}

/** Only absolute http(s) URLs may become embed images; anything else is dropped. */
export function imageUrl(value: string | null | undefined): string | null {
  return value && /^https?:\/\/\S+$/i.test(value) ? value : null;
}

const socialLabels: Record<string, string> = {
  parti: 'Parti',
  discord: 'Discord',
  twitter: 'X (Twitter)',
  telegram: 'Telegram',
};

export async function creatorCard(parti: PartiClient, userId: number): Promise<BaseMessageOptions> {
  let profile: UserProfile;
  try {
    profile = await parti.getUserProfile(userId);
  } catch (error) {
    if (isPartiError(error, 'not_found')) throw new UserError(t.unknownUser(userId));
    throw error;
  }
  // The card still shows when the live status or the stream list cannot be read.
  const [channel, recent] = await Promise.allSettled([
    parti.getChannelInfo(userId),
    parti.getRecentStreams({ byUserId: userId, limit: 5 }),
  ]);
  const info: ChannelInfo | undefined = channel.status === 'fulfilled' ? channel.value : undefined;
  const live = info ? isChannelLive(info) : false;
  let listing: LiveChannel | undefined;
  if (live) {
    const list = await parti.getAllLiveChannels().catch(() => [] as LiveChannel[]);
    listing = list.find((entry) => entry.user_id === userId);
  }

  const name = escapeDiscord(profile.user_name ?? '', 200) || t.unnamedCreator(userId);
  const url = creatorUrl(profile);
  const avatar = imageUrl(profile.avatar_link);
  const embed = new EmbedBuilder()
    .setColor(live ? colors.live : colors.brand)
    .setTitle(truncate(live ? `🔴 ${name}` : name, 256))
    .setFooter({ text: t.partiId(userId) });
  if (url) embed.setURL(url);
  if (avatar) embed.setThumbnail(avatar);
  const description = escapeDiscord(profile.description ?? '', 1000);
  if (description) embed.setDescription(description);

  const fields: { name: string; value: string; inline?: boolean }[] = [];
  if (profile.members != null)
    fields.push({ name: t.members, value: profile.members.toLocaleString('en-US'), inline: true });
  if (profile.channels_joined != null) {
    fields.push({ name: t.channelsJoined, value: profile.channels_joined.toLocaleString('en-US'), inline: true });
  }
  if (profile.social_media && profile.social_username) {
    const label = socialLabels[profile.social_media] ?? escapeDiscord(profile.social_media, 100);
    fields.push({
      name: t.linkedAccount,
      value: `${label}: ${escapeDiscord(profile.social_username, 200)}`,
      inline: true,
    });
  }
  if (live && info) {
    const event = info.channel_info?.livestream_event_info;
    const stream = info.channel_info?.stream;
    const title = escapeDiscord(listing?.event_title ?? event?.event_name ?? '', 300) || t.untitledStream;
    const viewers = stream?.viewer_count ?? listing?.viewers_count;
    const started = stream?.start_time ? Date.parse(stream.start_time) : Number.NaN;
    const details = [
      listing?.category_name ? escapeDiscord(listing.category_name, 100) : undefined,
      viewers != null ? t.viewers(viewers) : undefined,
      Number.isFinite(started) ? t.startedAt(discordTime(started / 1000)) : undefined,
    ].filter(Boolean);
    fields.push({
      name: t.liveNow,
      value: truncate(`**${url ? `[${title}](${url})` : title}**\n${details.join(' · ')}`, 1024),
    });
    const preview = imageUrl(event?.livestream_preview_file ?? listing?.event_file);
    if (preview) embed.setImage(preview);
  } else if (channel.status === 'fulfilled') {
    fields.push({ name: t.liveNow, value: t.notLive });
  }
  if (recent.status === 'fulfilled' && recent.value.length > 0) {
    const lines = recent.value.slice(0, 5).map((stream) => {
      const parts = [
        `[${escapeDiscord(stream.event_title ?? '', 100) || t.untitledStream}](${videoPageUrl(stream.event_id)})`,
        stream.total_viewers != null ? t.views(stream.total_viewers) : undefined,
        stream.event_end_ts ? discordTime(stream.event_end_ts) : undefined,
      ].filter(Boolean);
      return `• ${parts.join(' · ')}`;
    });
    fields.push({ name: t.recentStreams, value: truncate(lines.join('\n'), 1024) });
  }
  embed.addFields(fields);

  const components = url
    ? [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder()
            .setStyle(ButtonStyle.Link)
            .setURL(url)
            .setLabel(live ? t.watchLive : t.openOnParti),
        ),
      ]
    : [];
  return { embeds: [embed], components };
}
