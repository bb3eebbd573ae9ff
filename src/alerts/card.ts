// What an alert looks like: the live card (refreshed while live), the summary it becomes when the
// stream ends, and the text above it from the subscription's template.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIEmbedField,
} from 'discord.js';
import { colors, discordTime, escapeDiscord, truncate } from '../discord/format.js';
import { cleanText } from '../text.js';
import { cardStrings } from './strings.js';
import { DEFAULT_TEMPLATE, renderTemplate } from './template.js';

/** One creator's stream as the alert service tracks it. */
export interface TrackedStream {
  userId: number;
  /** event_id, or `ls{livestream_id}` when Parti sent no event id */
  eventKey: string;
  eventId?: number | undefined;
  userName: string;
  title: string;
  category?: string | undefined;
  viewers?: number | undefined;
  peakViewers: number;
  avatarUrl?: string | undefined;
  previewUrl?: string | undefined;
  creatorUrl: string;
  /** ms; kept across a drop within the grace period, so the duration covers the whole show */
  startedAt: number;
  endedAt?: number | undefined;
  /** the video page once Parti lists the recording */
  recordingUrl?: string | undefined;
}

export interface CardBody {
  content?: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
}

export function formatDuration(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function linkRow(label: string, url: string): APIActionRowComponent<APIComponentInMessageActionRow> {
  return new ActionRowBuilder<ButtonBuilder>()
    .addComponents(new ButtonBuilder().setStyle(ButtonStyle.Link).setURL(url).setLabel(label))
    .toJSON();
}

/** The Category field, when the stream has a category with anything visible in it. */
function categoryField(category: string | undefined): [APIEmbedField] | undefined {
  const value = category && escapeDiscord(category, 1024);
  return value ? [{ name: cardStrings.category, value, inline: true }] : undefined;
}

export function liveCard(
  stream: TrackedStream,
  options: { sample?: boolean; activity?: boolean | undefined } = {},
): CardBody {
  const embed = new EmbedBuilder()
    .setColor(colors.live)
    .setAuthor({
      // An author name is plain text: cleaned, never escaped (a backslash would show).
      name: truncate(`${cleanText(stream.userName, 200)} · ${cardStrings.live}`, 256),
      url: stream.creatorUrl,
      ...(stream.avatarUrl ? { iconURL: stream.avatarUrl } : {}),
    })
    .setTitle(escapeDiscord(stream.title, 256) || cardStrings.untitled)
    .setURL(stream.creatorUrl)
    .addFields(
      ...(categoryField(stream.category) ?? []),
      ...(stream.viewers != null
        ? [{ name: cardStrings.viewers, value: stream.viewers.toLocaleString('en-US'), inline: true }]
        : []),
      { name: cardStrings.started, value: discordTime(stream.startedAt / 1000), inline: true },
    );
  if (stream.avatarUrl) embed.setThumbnail(stream.avatarUrl);
  if (stream.previewUrl) embed.setImage(stream.previewUrl);
  if (options.sample) embed.setFooter({ text: cardStrings.sampleFooter });
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setStyle(ButtonStyle.Link).setURL(stream.creatorUrl).setLabel(cardStrings.watch),
  );
  // Watch it together: the /party command's button handler hosts a party of this live stream.
  if (!options.sample && stream.userId > 0) {
    row.addComponents(
      new ButtonBuilder()
        .setCustomId(`party:live:${stream.userId}`)
        .setLabel(cardStrings.watchParty)
        .setStyle(ButtonStyle.Secondary),
    );
    // Or inside Discord: the party opens as the Activity in this channel.
    if (options.activity) {
      row.addComponents(
        new ButtonBuilder()
          .setCustomId(`party:together:${stream.userId}`)
          .setLabel(cardStrings.watchTogether)
          .setStyle(ButtonStyle.Success),
      );
    }
  }
  return { embeds: [embed.toJSON()], components: [row.toJSON()] };
}

export function endedCard(stream: TrackedStream): CardBody {
  const endedAt = stream.endedAt ?? Date.now();
  const embed = new EmbedBuilder()
    .setColor(colors.muted)
    .setAuthor({
      name: truncate(`${cleanText(stream.userName, 200)} · ${cardStrings.ended}`, 256),
      url: stream.creatorUrl,
      ...(stream.avatarUrl ? { iconURL: stream.avatarUrl } : {}),
    })
    .setTitle(escapeDiscord(stream.title, 256) || cardStrings.untitled)
    .setURL(stream.recordingUrl ?? stream.creatorUrl)
    .setDescription(cardStrings.wasLive(escapeDiscord(stream.userName, 200)))
    .addFields(
      { name: cardStrings.duration, value: formatDuration(endedAt - stream.startedAt), inline: true },
      { name: cardStrings.peak, value: stream.peakViewers.toLocaleString('en-US'), inline: true },
      { name: cardStrings.endedAt, value: discordTime(endedAt / 1000), inline: true },
      ...(categoryField(stream.category) ?? []),
    );
  if (stream.avatarUrl) embed.setThumbnail(stream.avatarUrl);
  return {
    embeds: [embed.toJSON()],
    components: [
      stream.recordingUrl
        ? linkRow(cardStrings.recording, stream.recordingUrl)
        : linkRow(cardStrings.openCreator, stream.creatorUrl),
    ],
  };
}

export function alertText(template: string | undefined, stream: TrackedStream, roleId: string | undefined): string {
  return truncate(
    renderTemplate(template ?? DEFAULT_TEMPLATE, {
      creator: escapeDiscord(stream.userName, 200),
      title: escapeDiscord(stream.title, 256),
      category: escapeDiscord(stream.category ?? '', 200),
      viewers: stream.viewers != null ? stream.viewers.toLocaleString('en-US') : '',
      url: stream.creatorUrl,
      role: roleId ? `<@&${roleId}>` : '',
    }),
    2000,
  );
}
