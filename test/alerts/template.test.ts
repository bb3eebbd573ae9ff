import { describe, expect, it } from 'vitest';
import { alertText, endedCard, formatDuration, liveCard, type TrackedStream } from '../../src/alerts/card.js';
import { DEFAULT_TEMPLATE, renderTemplate, unknownPlaceholders } from '../../src/alerts/template.js';
import { hiddenCharacters, maskedLinks, mentionForms, shownText, SPOOF } from '../support/discordMarkdown.js';

const stream: TrackedStream = {
  userId: 1,
  eventKey: '80553',
  eventId: 80553,
  userName: 'Balthier_GR',
  title: 'Games @everyone [click](https://evil.example) <@123456789012345678>',
  category: 'Gaming',
  viewers: 1234,
  peakViewers: 2000,
  creatorUrl: 'https://parti.com/creator/twitter/KickBalthierGR',
  startedAt: Date.UTC(2026, 10, 23, 20, 0),
  endedAt: Date.UTC(2026, 10, 23, 22, 13),
};

describe('templates', () => {
  it('accepts the six placeholders and names any other', () => {
    expect(unknownPlaceholders(DEFAULT_TEMPLATE)).toEqual([]);
    expect(unknownPlaceholders('{creator}{title}{category}{viewers}{url}{role}')).toEqual([]);
    expect(unknownPlaceholders('{creator} plays {game} at {time} {game}')).toEqual(['{game}', '{time}']);
    expect(unknownPlaceholders('{}')).toEqual(['{}']);
  });

  it('fills values and tidies the gaps an empty role leaves', () => {
    expect(
      renderTemplate('{role} {creator} is live', {
        creator: 'A',
        title: '',
        category: '',
        viewers: '',
        url: '',
        role: '',
      }),
    ).toBe('A is live');
  });

  it('escapes what came from Parti so a title cannot format, link or mention', () => {
    const text = alertText('{role} {creator}: {title} ({viewers})', stream, '111111111111111111');
    expect(text).toBe(
      '<@&111111111111111111> Balthier\\_GR: Games @\u200beveryone \\[click\\]\\(https://evil.example\\) \\<@\u200b123456789012345678\\> (1,234)',
    );
  });
});

describe('the ended card', () => {
  it('shows duration, peak viewers and the recording', () => {
    const card = endedCard({ ...stream, recordingUrl: 'https://parti.com/video/80553' });
    const fields = Object.fromEntries((card.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields).toMatchObject({ Duration: '2 h 13 min', 'Peak viewers': '2,000', Ended: '<t:1795471980:R>' });
    expect(card.components[0]?.components[0]).toMatchObject({
      label: 'Watch the recording',
      url: 'https://parti.com/video/80553',
    });
  });

  it.each([
    [30_000, '1 min'],
    [59 * 60_000, '59 min'],
    [60 * 60_000, '1 h'],
    [61 * 60_000, '1 h 1 min'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('the cards of a stream whose text is hostile', () => {
  const hostile: TrackedStream = {
    ...stream,
    userName: `Mal${SPOOF.zeroWidth}lory ${SPOOF.rlo}${SPOOF.maskedLink}`,
    title: `Live ${SPOOF.rlo}now ${SPOOF.maskedLink} ${SPOOF.everyone} ${SPOOF.mention}\n# big`,
    category: `Gam${SPOOF.zeroWidth}ing ${SPOOF.maskedLink}`,
  };
  const harmless = (markdown: string | undefined) => {
    expect(markdown).toBeTypeOf('string');
    expect(maskedLinks(markdown!)).toEqual([]);
    expect(mentionForms(markdown!).filter((form) => !form.startsWith('<t:'))).toEqual([]);
    expect(hiddenCharacters(markdown!)).toEqual([]);
    return shownText(markdown!);
  };

  it.each([
    ['live', liveCard(hostile), 'LIVE on Parti'],
    ['ended', endedCard(hostile), 'Stream ended'],
  ])('the %s card shows title, category and creator as typed, harmless', (_, card, state) => {
    const embed = card.embeds[0]!;
    expect(harmless(embed.title)).toBe(
      'Live now [Click me](https://evil.example) @everyone <@123456789012345678> # big',
    );
    const category = embed.fields?.find((f) => f.name === 'Category')?.value;
    expect(harmless(category)).toBe('Gaming [Click me](https://evil.example)');
    // The author line is plain text: cleaned, with no escape to show as a backslash.
    expect(embed.author?.name).toBe(`Mallory [Click me](https://evil.example) · ${state}`);
  });

  it('the ended card names the creator harmless', () => {
    expect(harmless(endedCard(hostile).embeds[0]?.description)).toBe(
      '**Mallory [Click me](https://evil.example)** was live.',
    );
  });

  it('a title with nothing visible falls back to the untitled one', () => {
    expect(liveCard({ ...hostile, title: `${SPOOF.zeroWidth}${SPOOF.rlo}` }).embeds[0]?.title).toBe('Live on Parti');
  });
});
