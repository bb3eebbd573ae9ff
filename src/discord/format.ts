// Small helpers for Discord-native formatting shared by every command.
import { cleanText } from '../text.js';

export const colors = {
  brand: 0x7c3aed,
  live: 0xe11d48,
  ok: 0x16a34a,
  warn: 0xf59e0b,
  muted: 0x6b7280,
} as const;

/** `<t:…:F>` / `<t:…:R>` markdown for a Unix time in seconds. */
export function discordTime(unixSeconds: number, style: 'F' | 'R' | 'f' | 'D' | 't' = 'R'): string {
  return `<t:${Math.floor(unixSeconds)}:${style}>`;
}

/**
 * Cuts text to Discord's limit (in UTF-16 units, as discord.js counts) with an ellipsis, never inside
 * a surrogate pair or an escape: text that was escaped for Discord stays escaped.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  // An odd run of backslashes at the end is an escape whose character was cut off.
  if ((/\\+$/.exec(cut)?.[0].length ?? 0) % 2 === 1) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * What a member typed, quoted back as inline code (where markdown and mentions do not render):
 * cleaned, with its backticks made quotes so it cannot close the code span.
 */
export function inlineCode(text: string, max: number): string {
  return `\`${cleanText(text, max).replace(/`/g, "'")}\``;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Markdown, and the `<` that opens every mention, channel, role, emoji, timestamp, command and link form. */
const MARKDOWN = /^[\\*_~`|>#\-[\]()<]/;

/** What would start a numbered or a `+` list when it opens a line. */
const LIST_MARKER = /^\d+(?=\.)|^(?=\+)/;

/**
 * Text a person or Parti typed, for anywhere Discord renders markdown (message content, embed
 * titles, descriptions and field values, link text): cleaned (src/text.ts), then shown as itself.
 * No bold, spoiler, code, heading, quote or list of its own, no masked link (`[` `]` `(` `)` are
 * escaped), no mention or other `<…>` form, and no `@everyone`/`@here`: a zero-width space goes
 * after every `@`, added after cleaning on purpose. With `max` (in UTF-16 units, as discord.js
 * counts), longer text is cut between whole escapes and characters and ends with an ellipsis.
 * Plain-text places (author names, footers, button and choice labels) take cleanText alone.
 */
export function escapeDiscord(text: string, max = Number.POSITIVE_INFINITY): string {
  const cleaned = cleanText(text, Number.POSITIVE_INFINITY);
  const listDot = LIST_MARKER.exec(cleaned)?.[0].length ?? -1;
  const units: string[] = [];
  let length = 0;
  for (const { segment, index } of graphemes.segment(cleaned)) {
    const unit =
      MARKDOWN.test(segment) || index === listDot
        ? `\\${segment}`
        : segment.startsWith('@')
          ? `@\u200b${segment.slice(1)}`
          : segment;
    if (length + unit.length > max) {
      while (units.length > 0 && (length + 1 > max || units.at(-1) === ' ')) length -= units.pop()!.length;
      return max >= 1 ? `${units.join('')}…` : '';
    }
    units.push(unit);
    length += unit.length;
  }
  return units.join('');
}
