// The Activity's URL mappings: what `npm run activity:mappings` prints for the Developer Portal, and
// how the page turns a URL into its `/.proxy/…` form with them (or finds it cannot reach it).
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { activityMappings, formatMappings } from '../../src/party/activityMappings.js';
import { proxiedUrl } from '../../src/party/player/proxyUrl.js';

const config = loadConfig({
  DISCORD_TOKEN: 'abc',
  PUBLIC_URL: 'https://party.example.com',
  DISCORD_CLIENT_SECRET: 'abcdefghijklmnopqrstuvwxyz012345',
  ACTIVITY_MEDIA_ORIGINS: 'https://cdn.example.org,http://127.0.0.1:8089',
});
const mappings = activityMappings(config);

describe('activity mappings', () => {
  it('maps the page, the party server, every Parti media base, Parti hosts and the listed clip origins', () => {
    expect(formatMappings(mappings)).toBe(
      [
        'PREFIX                  TARGET',
        '/                       party.example.com/activity',
        '/party                  party.example.com',
        '/media/media.parti.com  media.parti.com',
        '/media/watch.parti.com  watch.parti.com',
        '/media/cdn.example.org  cdn.example.org',
        '/media/127.0.0.1-8089   127.0.0.1:8089',
        '/parti/{subdomain}      {subdomain}.parti.com',
      ].join('\n'),
    );
  });

  it('turns a URL under a mapping into its proxied path, keeping path and query', () => {
    expect(proxiedUrl('https://media.parti.com/rec/1/index.m3u8?sig=a%20b', mappings)).toBe(
      '/.proxy/media/media.parti.com/rec/1/index.m3u8?sig=a%20b',
    );
    expect(proxiedUrl('https://live-eu3.parti.com/hls/x.m3u8', mappings)).toBe('/.proxy/parti/live-eu3/hls/x.m3u8');
    expect(proxiedUrl('http://127.0.0.1:8089/clip.mp4', mappings)).toBe('/.proxy/media/127.0.0.1-8089/clip.mp4');
    expect(proxiedUrl('https://party.example.com/api/v1/watch-parties/x', mappings)).toBe(
      '/.proxy/party/api/v1/watch-parties/x',
    );
  });

  it('finds no way to an origin nobody mapped, nor to a look-alike of a mapped one', () => {
    expect(proxiedUrl('https://videos.example.net/clip.mp4', mappings)).toBeNull();
    expect(proxiedUrl('https://cdn.example.org.evil.test/clip.mp4', mappings)).toBeNull();
    expect(proxiedUrl('http://cdn.example.org/clip.mp4', mappings)).toBeNull();
    expect(proxiedUrl('https://parti.com.evil.test/x', mappings)).toBeNull();
  });

  it('names DISCORD_CLIENT_SECRET when it is not a client secret', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_CLIENT_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_CLIENT_SECRET: 'short' })).toThrow(
      /^DISCORD_CLIENT_SECRET /,
    );
    expect(loadConfig({ DISCORD_TOKEN: 'abc' }).DISCORD_CLIENT_SECRET).toBeUndefined();
  });
});
