import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('fills every default from a token alone', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'abc' });
    expect(config).toMatchObject({
      DISCORD_API_URL: 'https://discord.com/api',
      PARTI_API_URL: [
        'https://prod-api.parti.com/parti_v2',
        'https://api.parti.com/parti_v2',
        'https://api-backend.parti.com/parti_v2',
      ],
      PARTI_WS_URL: 'wss://ws-backend.parti.com/',
      PARTI_MEDIA_URL: ['https://media.parti.com', 'https://watch.parti.com'],
      STORE_URL: 'sqlite://data/parti-bot.sqlite',
      HTTP_PORT: 8080,
      PUBLIC_URL: 'http://localhost:8080',
      LOG_LEVEL: 'info',
      MEDIA_ALLOW_PRIVATE: false,
    });
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
    expect(config.PARTI_PROXY_URL).toBeUndefined();
  });

  it('reads a comma-separated list of Parti bases, or one base that pins it', () => {
    const config = loadConfig({
      DISCORD_TOKEN: 'abc',
      PARTI_API_URL: ' https://api-backend.parti.com/parti_v2/ , https://prod-api.parti.com/parti_v2',
      PARTI_MEDIA_URL: 'https://watch.parti.com/',
    });
    expect(config.PARTI_API_URL).toEqual([
      'https://api-backend.parti.com/parti_v2',
      'https://prod-api.parti.com/parti_v2',
    ]);
    expect(config.PARTI_MEDIA_URL).toEqual(['https://watch.parti.com']);
  });

  it('treats empty values as unset, as a copied .env.example leaves them', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_GUILD_ID: '', PARTI_PROXY_URL: '  ' });
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
    expect(config.PARTI_PROXY_URL).toBeUndefined();
  });

  it.each([
    [{}, /^DISCORD_TOKEN is not set: set DISCORD_TOKEN in \.env/],
    [{ DISCORD_TOKEN: 'x', HTTP_PORT: 'eighty' }, /^HTTP_PORT /],
    [{ DISCORD_TOKEN: 'x', PARTI_WS_URL: 'https://ws-backend.parti.com/' }, /^PARTI_WS_URL /],
    [
      { DISCORD_TOKEN: 'x', PARTI_API_URL: 'https://prod-api.parti.com/parti_v2,,ftp://x' },
      /^PARTI_API_URL must be http\(s\) URLs separated by commas/,
    ],
    [{ DISCORD_TOKEN: 'x', DISCORD_GUILD_ID: 'my-guild' }, /^DISCORD_GUILD_ID must be a Discord id/],
    [{ DISCORD_TOKEN: 'x', STORE_URL: 'postgres://db' }, /^STORE_URL must start with sqlite:\/\/ or redis:\/\//],
    [{ DISCORD_TOKEN: 'x', LOG_LEVEL: 'loud' }, /^LOG_LEVEL /],
    [{ DISCORD_TOKEN: 'x', MEDIA_ALLOW_PRIVATE: 'sometimes' }, /^MEDIA_ALLOW_PRIVATE must be true or false/],
    [{ DISCORD_TOKEN: 'x', TRUST_PROXY: 'true' }, /^TRUST_PROXY would believe any client about its own address/],
    [{ DISCORD_TOKEN: 'x', TRUST_PROXY: 'proxy.local' }, /^TRUST_PROXY has "proxy.local", which is not an address/],
    [{ DISCORD_TOKEN: 'x', PARTY_SOCKETS_PER_PERSON: '0' }, /^PARTY_SOCKETS_PER_PERSON /],
  ])('names the bad key in one line: %o', (env, message) => {
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('believes forwarded addresses only from the proxies TRUST_PROXY names (off by default)', () => {
    expect(loadConfig({ DISCORD_TOKEN: 'x' }).TRUST_PROXY).toEqual({ kind: 'off' });
    expect(loadConfig({ DISCORD_TOKEN: 'x', TRUST_PROXY: '1' }).TRUST_PROXY).toEqual({ kind: 'hops', hops: 1 });
    expect(loadConfig({ DISCORD_TOKEN: 'x', TRUST_PROXY: 'loopback,10.0.0.0/8' }).TRUST_PROXY).toEqual({
      kind: 'list',
      entries: ['loopback', '10.0.0.0/8'],
    });
  });

  it('lets LAN media in only when MEDIA_ALLOW_PRIVATE says so', () => {
    expect(loadConfig({ DISCORD_TOKEN: 'x', MEDIA_ALLOW_PRIVATE: 'true' }).MEDIA_ALLOW_PRIVATE).toBe(true);
    expect(loadConfig({ DISCORD_TOKEN: 'x', MEDIA_ALLOW_PRIVATE: 'false' }).MEDIA_ALLOW_PRIVATE).toBe(false);
    expect(loadConfig({ DISCORD_TOKEN: 'x', MEDIA_ALLOW_PRIVATE: '' }).MEDIA_ALLOW_PRIVATE).toBe(false);
  });

  it('drops a trailing slash from PUBLIC_URL so links join cleanly', () => {
    expect(loadConfig({ DISCORD_TOKEN: 'x', PUBLIC_URL: 'https://bot.example.org/' }).PUBLIC_URL).toBe(
      'https://bot.example.org',
    );
  });
});
