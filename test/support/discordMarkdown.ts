// How Discord reads the markdown the bot sends, far enough to tell what a member would see: which
// escapes hide a character's meaning, which masked links and mentions would render, which characters
// would reorder or hide text. The tests of src/discord/format.ts and test/security/ share it.

/** Discord's escape: a backslash before any character that is not a letter, a digit or a space. */
const ESCAPE = /\\([^0-9A-Za-z\s])/gu;

/** The markdown with every escaped character replaced by a placeholder that forms nothing. */
function unescaped(markdown: string): string {
  return markdown.replace(ESCAPE, '\u{F0000}');
}

/** The text a member reads: escapes resolved, and the zero-width space Discord's own escaping puts after `@` gone. */
export function shownText(markdown: string): string {
  return markdown.replace(ESCAPE, '$1').replace(/@\u200b/g, '@');
}

/** Masked links `[text](url)` Discord would render (text and url as written). */
export function maskedLinks(markdown: string): { text: string; url: string }[] {
  return [...unescaped(markdown).matchAll(/\[([^[\]]*)\]\(\s*<?([^()\s>]+)>?\s*\)/gu)].map((m) => ({
    text: m[1]!,
    url: m[2]!,
  }));
}

/**
 * Mentions and other `<…>` forms Discord would render: users, roles, channels, timestamps, slash
 * commands, custom emoji, suppressed-embed links, and `@everyone`/`@here`.
 */
export function mentionForms(markdown: string): string[] {
  const text = unescaped(markdown);
  return [
    ...text.matchAll(
      /<(?:@[!&]?\d+|#\d+|t:-?\d+(?::[tTdDfFR])?|\/[^\s<>:]+(?: [^\s<>:]+)*:\d+|a?:\w+:\d+|https?:\/\/[^\s>]+)>/gu,
    ),
    ...text.matchAll(/@(?:everyone|here)/gu),
  ].map((m) => m[0]);
}

/** Markdown characters in text that carry meaning (not escaped), and a list marker opening it. */
export function liveMarkdown(markdown: string): string[] {
  const text = unescaped(markdown);
  return [...(text.match(/[\\*_~`|>#\-[\]()<]/gu) ?? []), ...(/^(?:\d+\.|\+)\s/u.exec(text) ?? [])];
}

/**
 * Characters that reorder or hide text (controls, format characters, blank letters), except a
 * newline the bot put between lines and the zero-width space Discord's escaping puts after `@`.
 */
export function hiddenCharacters(markdown: string): string[] {
  return (
    markdown
      .replace(/@\u200b/g, '@')
      .replace(/\n/g, ' ')
      .match(/[\p{Cc}\p{Cf}\p{Cs}\u115f\u1160\u3164\uffa0\u2800]|\u034f|\u17b4|\u17b5/gu) ?? []
  );
}

/** The pieces of a hostile title or name: each would show or link something other than what it says. */
export const SPOOF = {
  maskedLink: '[Click me](https://evil.example)',
  everyone: '@everyone',
  mention: '<@123456789012345678>',
  /** Right-to-left override: what follows reads backwards. */
  rlo: '\u202E',
  zeroWidth: '\u200B',
} as const;
