import { describe, expect, it } from 'vitest';
import { escapeDiscord, inlineCode, truncate } from '../../src/discord/format.js';
import { cleanText } from '../../src/text.js';
import {
  hiddenCharacters,
  liveMarkdown,
  maskedLinks,
  mentionForms,
  shownText,
  SPOOF,
} from '../support/discordMarkdown.js';

const spoofs = [
  SPOOF.maskedLink,
  '[Click me](<https://evil.example>)',
  SPOOF.everyone,
  '@here',
  SPOOF.mention,
  '<@!123456789012345678>',
  '<@&123456789012345678>',
  '<#123456789012345678>',
  '<t:1700000000:R>',
  '</party create:123456789012345678>',
  '<:party:123456789012345678>',
  '<a:party:123456789012345678>',
  '<https://evil.example>',
  '**bold** __underline__ *italic* _italic_ ~~strike~~ ||spoiler|| `code` ```block```',
  '# Heading',
  '## Heading',
  '-# small print',
  '> quote',
  '>>> quote',
  '- item',
  '* item',
  '+ item',
  '1. item',
  '12. item',
  'back\\slash \\*not bold\\*',
  `${SPOOF.rlo}reversed ${SPOOF.zeroWidth}hidden\u2066isolated\u2069 line\nbreak\u0007`,
];

describe('escapeDiscord', () => {
  it.each(spoofs)('shows %j as typed, with nothing Discord would render', (text) => {
    const escaped = escapeDiscord(text);
    expect(maskedLinks(escaped)).toEqual([]);
    expect(mentionForms(escaped)).toEqual([]);
    expect(liveMarkdown(escaped)).toEqual([]);
    expect(hiddenCharacters(escaped)).toEqual([]);
    // A member reads exactly the cleaned text: every escape resolves to the character typed.
    expect(shownText(escaped)).toBe(cleanText(text, 1000));
  });

  it('breaks a masked link, a mention and @everyone in a title, and keeps its words', () => {
    const title = `Movie ${SPOOF.rlo}night ${SPOOF.maskedLink} ${SPOOF.everyone} ${SPOOF.mention} zero${SPOOF.zeroWidth}width`;
    expect(escapeDiscord(title)).toBe(
      'Movie night \\[Click me\\]\\(https://evil.example\\) @\u200beveryone \\<@\u200b123456789012345678\\> zerowidth',
    );
  });

  it('leaves ordinary text alone: accents, CJK, emoji, punctuation that means nothing', () => {
    for (const text of ['Café crème naïve', '東京の夜 · 서울', '🎬 👩‍💻 🏳️‍🌈 👍🏽', "It's 20:00, isn't it? 100% fun!"]) {
      expect(escapeDiscord(text)).toBe(text);
    }
  });

  it('escapes a list marker only where it would open a line', () => {
    expect(escapeDiscord('1. first')).toBe('1\\. first');
    expect(escapeDiscord('Top 10. Best')).toBe('Top 10. Best');
    expect(escapeDiscord('+ plus')).toBe('\\+ plus');
    expect(escapeDiscord('C++')).toBe('C++');
  });

  it('cuts long text at max UTF-16 units between whole escapes, with an ellipsis', () => {
    expect(escapeDiscord('abcdef', 6)).toBe('abcdef');
    expect(escapeDiscord('abcdefg', 6)).toBe('abcde…');
    // Each escape is two units and is kept or dropped whole: never a lone backslash at the end.
    for (let max = 1; max <= 12; max++) {
      const cut = escapeDiscord('a*b*c*d*e*f*', max);
      expect(cut.length).toBeLessThanOrEqual(max);
      const kept = cut.replace(/…$/, '');
      expect((/\\+$/.exec(kept)?.[0].length ?? 0) % 2).toBe(0);
      expect('a*b*c*d*e*f*'.startsWith(shownText(kept))).toBe(true);
    }
    expect(escapeDiscord('😀😀😀', 5)).toBe('😀😀…');
    expect(escapeDiscord('ab cd', 4)).toBe('ab…');
    expect(escapeDiscord('@everyone', 3)).toBe('@\u200b…');
    expect(escapeDiscord('anything', 0)).toBe('');
  });

  it('gives nothing for text with nothing visible, so callers can fall back', () => {
    expect(escapeDiscord('\u200B\u202E\u3164 \n')).toBe('');
  });
});

describe('inlineCode', () => {
  it('quotes what a member typed as code that cannot close early, cleaned', () => {
    expect(inlineCode('a`b', 80)).toBe("`a'b`");
    expect(inlineCode(`x${SPOOF.rlo}y\nz`, 80)).toBe('`xy z`');
    expect(inlineCode('x'.repeat(100), 80)).toBe(`\`${'x'.repeat(80)}\``);
  });
});

describe('truncate', () => {
  it('never ends in half a surrogate pair or half an escape', () => {
    expect(truncate('ab😀cd', 4)).toBe('ab…');
    expect(truncate('abc\\*def', 5)).toBe('abc…');
    expect(truncate('ab\\\\cdef', 5)).toBe('ab\\\\…');
    expect(truncate('short', 5)).toBe('short');
  });
});
