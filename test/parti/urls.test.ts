// What users type to name a creator or a video, and the Parti URLs the bot builds.
import { describe, expect, it } from 'vitest';
import {
  CREATOR_PAGE_TEMPLATE,
  creatorPageUrl,
  liveHlsUrl,
  parsePartiReference,
  recordingUrl,
  videoPageUrl,
  type PartiReference,
} from '../../src/parti/urls.js';

describe('parsePartiReference', () => {
  const cases: Array<[string, PartiReference | null]> = [
    // ids
    ['353044', { kind: 'id', userId: 353044 }],
    ['  353044 ', { kind: 'id', userId: 353044 }],
    // creator pages
    [
      'https://parti.com/creator/twitter/KickBalthierGR',
      { kind: 'social', service: 'twitter', name: 'KickBalthierGR' },
    ],
    [
      'https://www.parti.com/creator/twitter/KickBalthierGR/',
      { kind: 'social', service: 'twitter', name: 'KickBalthierGR' },
    ],
    ['parti.com/creator/parti/BalthierGR', { kind: 'social', service: 'parti', name: 'BalthierGR' }],
    ['http://parti.com/creator/telegram/bmw_cmbk?ref=x#top', { kind: 'social', service: 'telegram', name: 'bmw_cmbk' }],
    [
      'https://parti.com/creator/discord/sazboxgaming/0',
      { kind: 'social', service: 'discord', name: 'sazboxgaming#0' },
    ],
    ['https://parti.com/creator/discord/olduser/1234', { kind: 'social', service: 'discord', name: 'olduser#1234' }],
    ['https://parti.com/creator/discord/drb666', { kind: 'social', service: 'discord', name: 'drb666#0' }],
    ['https://PARTI.com/creator/Twitter/Some%20Name', { kind: 'social', service: 'twitter', name: 'Some Name' }],
    // creator pages as Parti links them today: parti.com/{slug}
    ['https://parti.com/247CryptoTracker', { kind: 'name', name: '247CryptoTracker' }],
    ['parti.com/247CryptoTracker/', { kind: 'name', name: '247CryptoTracker' }],
    ['https://www.parti.com/247CryptoTracker?tab=videos#top', { kind: 'name', name: '247CryptoTracker' }],
    ['https://parti.com/sazboxgaming/0', { kind: 'name', name: 'sazboxgaming/0' }],
    ['https://parti.com/Jack%20Doherty', { kind: 'name', name: 'Jack Doherty' }],
    ['https://parti.com/@BalthierGR', { kind: 'name', name: 'BalthierGR' }],
    // video pages
    ['https://parti.com/video/80892', { kind: 'video', videoId: 80892 }],
    ['www.parti.com/video/80892/', { kind: 'video', videoId: 80892 }],
    // service:name
    ['twitter:KickBalthierGR', { kind: 'social', service: 'twitter', name: 'KickBalthierGR' }],
    ['discord:drb666', { kind: 'social', service: 'discord', name: 'drb666#0' }],
    ['Discord:drb666#0', { kind: 'social', service: 'discord', name: 'drb666#0' }],
    ['discord:olduser#1234', { kind: 'social', service: 'discord', name: 'olduser#1234' }],
    ['telegram: bmw_cmbk', { kind: 'social', service: 'telegram', name: 'bmw_cmbk' }],
    ['parti:Jack Doherty', { kind: 'social', service: 'parti', name: 'Jack Doherty' }],
    // bare names
    ['BalthierGR', { kind: 'name', name: 'BalthierGR' }],
    ['@BalthierGR', { kind: 'name', name: 'BalthierGR' }],
    ['247CryptoTracker', { kind: 'name', name: '247CryptoTracker' }],
    ['Chilly Dolphin', { kind: 'name', name: 'Chilly Dolphin' }],
    ['drb666#0', { kind: 'social', service: 'discord', name: 'drb666#0' }],
    ['@drb666#0', { kind: 'social', service: 'discord', name: 'drb666#0' }],
    // junk
    ['', null],
    ['    ', null],
    ['x'.repeat(101), null],
    ['https://example.com/creator/twitter/x', null],
    ['example.com/video/1', null],
    ['https://parti.com/', null],
    ['https://parti.com/creator/myspace/tom', null],
    ['https://parti.com/creator/twitter', null],
    // the site's own pages are not creators
    ['https://parti.com/video', null],
    ['https://parti.com/creator', null],
    ['https://parti.com/explore', null],
    ['https://parti.com/Live', null],
    ['https://parti.com/settings/profile', null],
    ['https://parti.com/247CryptoTracker/videos', null],
    ['https://parti.com/a/b/c', null],
    ['foo/bar', null],
    ['https://parti.com/video/abc', null],
    ['https://parti.com/creator/twitter/%E0%A4%A', null],
    ['myspace:tom', null],
    ['discord:', null],
    ['discord:#0', null],
  ];

  it.each(cases)('%j → %j', (input, expected) => {
    expect(parsePartiReference(input)).toEqual(expected);
  });

  it('accepts exactly 100 characters', () => {
    expect(parsePartiReference('a'.repeat(100))).toEqual({ kind: 'name', name: 'a'.repeat(100) });
  });
});

describe('creatorPageUrl', () => {
  it('fills the one template the bot links creators with', () => {
    expect(CREATOR_PAGE_TEMPLATE).toBe('https://parti.com/{slug}');
  });

  it.each([
    ['twitter', 'KickBalthierGR', 'https://parti.com/KickBalthierGR'],
    ['parti', '247CryptoTracker', 'https://parti.com/247CryptoTracker'],
    ['parti', 'Jack Doherty', 'https://parti.com/Jack%20Doherty'],
    // Inside Discord's [text](url) a bare ")" would end the link.
    ['parti', 'Me (live)', 'https://parti.com/Me%20%28live%29'],
    ['discord', 'sazboxgaming', 'https://parti.com/sazboxgaming/0'],
    ['discord', 'drb666#0', 'https://parti.com/drb666/0'],
    ['discord', 'olduser#1234', 'https://parti.com/olduser/1234'],
    ['discord', 'olduser/1234', 'https://parti.com/olduser/1234'],
    ['Telegram', 'bmw_cmbk', 'https://parti.com/bmw_cmbk'],
  ])('%s %s → %s', (service, slug, expected) => {
    expect(creatorPageUrl(service, slug)).toBe(expected);
  });

  it('round-trips through parsePartiReference as a slug to look up', () => {
    expect(parsePartiReference(creatorPageUrl('discord', 'drb666#0'))).toEqual({ kind: 'name', name: 'drb666/0' });
    expect(parsePartiReference(creatorPageUrl('twitter', 'Some Name'))).toEqual({ kind: 'name', name: 'Some Name' });
  });
});

describe('media URLs', () => {
  it('builds video pages', () => {
    expect(videoPageUrl(80892)).toBe('https://parti.com/video/80892');
  });

  it.each([
    ['https://watch.parti.com', '/ivs/v1/a/b/master.m3u8', 'https://watch.parti.com/ivs/v1/a/b/master.m3u8'],
    ['https://watch.parti.com/', 'ivs/v1/a/b/master.m3u8', 'https://watch.parti.com/ivs/v1/a/b/master.m3u8'],
    ['http://127.0.0.1:9/media', '/ivs/x.m3u8', 'http://127.0.0.1:9/media/ivs/x.m3u8'],
    ['https://watch.parti.com', 'https://cdn.example/x.m3u8', 'https://cdn.example/x.m3u8'],
    ['https://watch.parti.com', '', null],
    ['https://watch.parti.com', null, null],
    ['https://watch.parti.com', undefined, null],
  ])('recordingUrl(%s, %s) → %s', (base, recording, expected) => {
    expect(recordingUrl(base, recording)).toBe(expected);
  });

  it.each([
    [
      'https://x.playback.live-video.net/api/video/v1/c.m3u8',
      'eyJ.a.b',
      'https://x.playback.live-video.net/api/video/v1/c.m3u8?token=eyJ.a.b&player_version=1.17.0',
    ],
    ['https://x/c.m3u8?a=1', 'tok', 'https://x/c.m3u8?a=1&token=tok&player_version=1.17.0'],
    ['https://x/c.m3u8', null, 'https://x/c.m3u8?player_version=1.17.0'],
    // Already signed: plays as it is, whatever token the answer also carries.
    ['https://x/c.m3u8?token=own', 'tok', 'https://x/c.m3u8?token=own'],
    [
      'https://cdn.example/c.m3u8?Policy=p&Signature=s&Key-Pair-Id=k',
      'tok',
      'https://cdn.example/c.m3u8?Policy=p&Signature=s&Key-Pair-Id=k',
    ],
    [null, 'tok', null],
    ['not a url', 'tok', null],
  ])('liveHlsUrl(%s, %s) → %s', (playback, token, expected) => {
    expect(liveHlsUrl(playback, token)).toBe(expected);
  });
});
