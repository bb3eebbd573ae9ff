// The paged lists of /parti: live now, schedule, recent streams, featured channels, and the
// category list. Each page is rendered from (kind, params, page) alone, so a Next button can
// rebuild it at any time without server-side state.
import { EmbedBuilder } from 'discord.js';
import type { PartiClient } from '../parti/client.js';
import { categoryLabel, type Category } from '../parti/schemas.js';
import { videoPageUrl } from '../parti/urls.js';
import { colors, discordTime, escapeDiscord, truncate } from '../discord/format.js';
import { cleanText } from '../text.js';
import { UserError } from '../errors.js';
import { creatorUrl } from './creators.js';
import { lookupStrings as t } from './strings.js';

export const PAGE_SIZE = 10;

export type ListKind = 'live' | 'schedule' | 'recent' | 'featured';

export interface ListPage {
  embed: EmbedBuilder;
  hasNext: boolean;
}

/** A category option as typed or picked from autocomplete (whose value is the id). */
export async function resolveCategory(
  parti: PartiClient,
  input: string | null | undefined,
): Promise<Category | undefined> {
  const text = input?.trim();
  if (!text) return undefined;
  const categories = await parti.getCategories();
  const wanted = text.toLowerCase();
  const found =
    categories.find((category) => String(category.category_id) === text) ??
    categories.find(
      (category) => category.name?.toLowerCase() === wanted || category.display_name?.toLowerCase() === wanted,
    );
  if (!found) throw new UserError(t.unknownCategory(text));
  return found;
}

export async function categoryChoices(parti: PartiClient, typed: string): Promise<{ name: string; value: string }[]> {
  const wanted = typed.trim().toLowerCase();
  const categories = await parti.getCategories();
  return categories
    .filter(
      (category) =>
        !wanted ||
        category.name?.toLowerCase().includes(wanted) ||
        category.display_name?.toLowerCase().includes(wanted),
    )
    .sort((a, b) => {
      // Names that start with what was typed come first.
      const aStarts = categoryLabel(a).toLowerCase().startsWith(wanted) ? 0 : 1;
      const bStarts = categoryLabel(b).toLowerCase().startsWith(wanted) ? 0 : 1;
      return aStarts - bStarts || categoryLabel(a).localeCompare(categoryLabel(b));
    })
    .slice(0, 25)
    .map((category) => ({
      // A choice's name is plain text: cleaned, not escaped.
      name: cleanText(categoryLabel(category), 100) || String(category.category_id),
      value: String(category.category_id),
    }));
}

/** Names and page links for the creators on one page; a profile that fails to load just has no link. */
async function creatorsById(
  parti: PartiClient,
  userIds: number[],
): Promise<Map<number, { name?: string; url?: string }>> {
  const unique = [...new Set(userIds)];
  const profiles = await Promise.allSettled(unique.map((id) => parti.getUserProfile(id)));
  const result = new Map<number, { name?: string; url?: string }>();
  profiles.forEach((outcome, index) => {
    const id = unique[index];
    if (id === undefined || outcome.status !== 'fulfilled') return;
    const url = creatorUrl(outcome.value);
    const name = outcome.value.user_name ?? undefined;
    result.set(id, { ...(name ? { name } : {}), ...(url ? { url } : {}) });
  });
  return result;
}

function creatorLink(name: string, url: string | undefined): string {
  return url ? `[${escapeDiscord(name, 100)}](${url})` : `**${escapeDiscord(name, 100)}**`;
}

/** A category's name as list titles and sentences show it (escaped), or its id when Parti does not list it. */
async function categoryName(parti: PartiClient, id: string | undefined): Promise<string | undefined> {
  if (!id) return undefined;
  const categories = await parti.getCategories().catch(() => [] as Category[]);
  const category = categories.find((entry) => String(entry.category_id) === id);
  return (category && escapeDiscord(categoryLabel(category), 100)) || `#${id}`;
}

function pageCount(total: number): number {
  return Math.max(1, Math.ceil(total / PAGE_SIZE));
}

export async function renderList(
  parti: PartiClient,
  kind: ListKind,
  params: string[],
  page: number,
): Promise<ListPage> {
  switch (kind) {
    case 'live':
      return livePage(parti, params[0] || undefined, page);
    case 'schedule':
      return schedulePage(parti, params[0] || undefined, page);
    case 'recent':
      return recentPage(parti, params[0] || undefined, params[1] || undefined, params[2] === 'views', page);
    case 'featured':
      return featuredPage(parti, page);
  }
}

async function livePage(parti: PartiClient, categoryId: string | undefined, page: number): Promise<ListPage> {
  const [channels, category] = await Promise.all([
    parti.getAllLiveChannels(categoryId ? { categoryId: Number(categoryId) } : {}),
    categoryName(parti, categoryId),
  ]);
  const sorted = [...channels].sort((a, b) => (b.viewers_count ?? 0) - (a.viewers_count ?? 0));
  const embed = new EmbedBuilder().setColor(colors.live).setTitle(t.liveTitle(category));
  if (sorted.length === 0) return { embed: embed.setDescription(t.liveEmpty(category)), hasNext: false };
  const slice = sorted.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const creators = await creatorsById(
    parti,
    slice.map((entry) => entry.user_id),
  );
  const lines = slice.map((entry, index) => {
    const who = creators.get(entry.user_id);
    const name = entry.user_name ?? who?.name ?? t.unnamedCreator(entry.user_id);
    const details = [
      entry.category_name && !categoryId ? escapeDiscord(entry.category_name, 100) : undefined,
      entry.viewers_count != null ? `👁 ${entry.viewers_count.toLocaleString('en-US')}` : undefined,
    ].filter(Boolean);
    const escaped = escapeDiscord(entry.event_title ?? '', 80);
    const title = escaped ? ` — ${escaped}` : '';
    return `**${page * PAGE_SIZE + index + 1}.** ${creatorLink(name, who?.url)}${title}\n${details.join(' · ')}`;
  });
  embed
    .setDescription(lines.join('\n'))
    .setFooter({ text: t.liveFooter(sorted.length, page + 1, pageCount(sorted.length)) });
  return { embed, hasNext: (page + 1) * PAGE_SIZE < sorted.length };
}

async function schedulePage(parti: PartiClient, categoryId: string | undefined, page: number): Promise<ListPage> {
  const [events, category] = await Promise.all([
    parti.getCalendarEvents({ limit: 100 }),
    categoryName(parti, categoryId),
  ]);
  const now = Date.now() / 1000;
  const upcoming = events
    .filter((event) => event.event_start_ts != null && event.event_start_ts >= now)
    .filter((event) => !categoryId || String(event.category_id) === categoryId)
    .sort((a, b) => (a.event_start_ts ?? 0) - (b.event_start_ts ?? 0));
  const embed = new EmbedBuilder().setColor(colors.brand).setTitle(t.scheduleTitle(category));
  if (upcoming.length === 0) return { embed: embed.setDescription(t.scheduleEmpty(category)), hasNext: false };
  const slice = upcoming.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const creators = await creatorsById(
    parti,
    slice.flatMap((event) => (event.user_id != null ? [event.user_id] : [])),
  );
  const lines = slice.map((event) => {
    const start = event.event_start_ts ?? 0;
    const who = event.user_id != null ? creators.get(event.user_id) : undefined;
    const name = event.user_name ?? who?.name;
    const header = `**${escapeDiscord(event.event_title ?? '', 100) || t.untitledStream}**`;
    const details = [
      `${discordTime(start, 'F')} (${discordTime(start, 'R')})`,
      name ? t.by(creatorLink(name, who?.url)) : undefined,
      event.category_name && !categoryId ? escapeDiscord(event.category_name, 100) : undefined,
    ].filter(Boolean);
    return `${header}\n${details.join(' · ')}`;
  });
  embed
    .setDescription(lines.join('\n\n'))
    .setFooter({ text: t.pageFooter(page + 1, pageCount(upcoming.length), upcoming.length) });
  return { embed, hasNext: (page + 1) * PAGE_SIZE < upcoming.length };
}

async function recentPage(
  parti: PartiClient,
  userId: string | undefined,
  categoryId: string | undefined,
  byViews: boolean,
  page: number,
): Promise<ListPage> {
  // Parti pages this list itself; one extra row tells whether a next page exists.
  const [streams, category, creator] = await Promise.all([
    parti.getRecentStreams({
      ...(userId ? { byUserId: Number(userId) } : {}),
      ...(categoryId ? { categories: [Number(categoryId)] } : {}),
      topViewsSort: byViews,
      offset: page * PAGE_SIZE,
      limit: PAGE_SIZE + 1,
    }),
    categoryName(parti, categoryId),
    userId ? parti.getUserProfile(Number(userId)).catch(() => undefined) : Promise.resolve(undefined),
  ]);
  const embed = new EmbedBuilder()
    .setColor(colors.brand)
    .setTitle(t.recentTitle(escapeDiscord(creator?.user_name ?? '', 100) || undefined, category));
  if (streams.length === 0) {
    return { embed: embed.setDescription(t.recentEmpty), hasNext: false };
  }
  const lines = streams.slice(0, PAGE_SIZE).map((stream) => {
    const title = `[${escapeDiscord(stream.event_title ?? '', 100) || t.untitledStream}](${videoPageUrl(stream.event_id)})`;
    const details = [
      !userId && stream.user_name ? escapeDiscord(stream.user_name, 100) : undefined,
      stream.category_name && !categoryId ? escapeDiscord(stream.category_name, 100) : undefined,
      stream.total_viewers != null ? t.views(stream.total_viewers) : undefined,
      stream.event_end_ts ? t.ended(discordTime(stream.event_end_ts)) : undefined,
    ].filter(Boolean);
    return `${title}\n${details.join(' · ')}`;
  });
  embed
    .setDescription(lines.join('\n\n'))
    .setFooter({ text: `${byViews ? t.recentSortViews : t.recentSortDate} · ${t.pageFooterOpen(page + 1)}` });
  return { embed, hasNext: streams.length > PAGE_SIZE };
}

async function featuredPage(parti: PartiClient, page: number): Promise<ListPage> {
  const [featured, live] = await Promise.all([parti.getFeaturedChannels(), parti.getAllLiveChannels().catch(() => [])]);
  const embed = new EmbedBuilder().setColor(colors.brand).setTitle(t.featuredTitle);
  if (featured.length === 0) return { embed: embed.setDescription(t.featuredEmpty), hasNext: false };
  const liveIds = new Set(live.map((entry) => entry.user_id));
  const slice = featured.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const creators = await creatorsById(
    parti,
    slice.map((entry) => entry.user_id),
  );
  const lines = slice.map((entry) => {
    const who = creators.get(entry.user_id);
    const name = entry.user_name ?? who?.name ?? t.unnamedCreator(entry.user_id);
    const details = [
      entry.members != null ? t.membersCount(entry.members) : undefined,
      liveIds.has(entry.user_id) ? t.live : undefined,
    ].filter(Boolean);
    return `${creatorLink(name, who?.url)}${details.length ? ` — ${details.join(' · ')}` : ''}`;
  });
  embed
    .setDescription(lines.join('\n'))
    .setFooter({ text: t.pageFooter(page + 1, pageCount(featured.length), featured.length) });
  return { embed, hasNext: (page + 1) * PAGE_SIZE < featured.length };
}

export async function categoriesEmbed(parti: PartiClient): Promise<EmbedBuilder> {
  const [categories, live] = await Promise.all([parti.getCategories(), parti.getAllLiveChannels().catch(() => [])]);
  const embed = new EmbedBuilder().setColor(colors.brand).setTitle(t.categoriesTitle);
  if (categories.length === 0) return embed.setDescription(t.categoriesEmpty);
  const liveBy = new Map<string, number>();
  for (const entry of live) {
    const key = entry.category_name?.toLowerCase();
    if (key) liveBy.set(key, (liveBy.get(key) ?? 0) + 1);
  }
  const lines = [...categories]
    .sort((a, b) => categoryLabel(a).localeCompare(categoryLabel(b)))
    .map((category) => {
      const count =
        liveBy.get(category.name?.toLowerCase() ?? '') ?? liveBy.get(category.display_name?.toLowerCase() ?? '') ?? 0;
      return `**${escapeDiscord(categoryLabel(category), 100)}**${count ? ` — ${t.liveCount(count)}` : ''}`;
    });
  return embed.setDescription(truncate(lines.join('\n'), 4096));
}
