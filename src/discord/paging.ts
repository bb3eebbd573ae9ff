// Previous/Next buttons for paged lists. The button's custom_id carries everything needed to
// render the page again (list kind, its parameters, the page, who may press it and when it was
// issued), so paging needs no server-side state and keeps working across restarts.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';

/** Buttons stop working this long after the list was first shown. */
export const PAGE_BUTTON_LIFETIME_MS = 10 * 60_000;

export interface PageRef {
  kind: string;
  ownerId: string;
  /** ms since epoch, when the list was first shown */
  issuedAt: number;
  page: number;
  params: string[];
}

export function encodePageRef(command: string, ref: PageRef): string {
  const id = [
    command,
    'page',
    ref.kind,
    ref.ownerId,
    Math.floor(ref.issuedAt / 1000).toString(36),
    String(ref.page),
    ...ref.params.map(encodeURIComponent),
  ].join(':');
  if (id.length > 100) throw new Error(`custom_id too long (${id.length}): ${id}`);
  return id;
}

/** `args` is the custom_id after `${command}:`. Returns undefined for anything malformed. */
export function decodePageRef(args: string[]): PageRef | undefined {
  const [action, kind, ownerId, issued, page, ...params] = args;
  if (action !== 'page' || !kind || !ownerId || !issued || page === undefined) return undefined;
  const issuedAt = Number.parseInt(issued, 36) * 1000;
  const pageNumber = Number(page);
  if (!Number.isFinite(issuedAt) || !Number.isInteger(pageNumber) || pageNumber < 0) return undefined;
  try {
    return { kind, ownerId, issuedAt, page: pageNumber, params: params.map(decodeURIComponent) };
  } catch {
    return undefined;
  }
}

export function isExpired(ref: PageRef, now = Date.now()): boolean {
  return now - ref.issuedAt > PAGE_BUTTON_LIFETIME_MS;
}

export function pageButtons(
  command: string,
  ref: PageRef,
  hasNext: boolean,
  labels: { previous: string; next: string; page: (page: number) => string },
): ActionRowBuilder<ButtonBuilder> | undefined {
  if (ref.page === 0 && !hasNext) return undefined;
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(encodePageRef(command, { ...ref, page: ref.page - 1 }))
      .setLabel(labels.previous)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(ref.page === 0),
    new ButtonBuilder()
      // Discord refuses two components with one custom_id; the page indicator needs its own.
      .setCustomId(`${command}:noop:${ref.page}`)
      .setLabel(labels.page(ref.page + 1))
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(true),
    new ButtonBuilder()
      .setCustomId(encodePageRef(command, { ...ref, page: ref.page + 1 }))
      .setLabel(labels.next)
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!hasNext),
  );
}
