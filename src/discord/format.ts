// Small helpers for Discord-native formatting shared by every command.
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

/** Truncates to Discord's field limits with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Text shown inside a markdown link must not close the link or start formatting. */
export function escapeLinkText(text: string): string {
  return escapeMarkdown(text).replace(/[[\]]/g, (c) => `\\${c}`);
}

/** Text a person typed, shown as itself: no bold, links, headings or line breaks of its own. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>#-])/g, '\\$1').replace(/\n+/g, ' ');
}
