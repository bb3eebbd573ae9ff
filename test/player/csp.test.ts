// The watch page of a party whose queue holds a clip URL with a `,` in its host, stored before such
// URLs were refused (written straight into the store here). Copied into the Content-Security-Policy,
// that host split the header into four policies, one of them an empty `script-src`: Chromium then
// ran no script, nobody could watch, and the `#token` stayed in the address bar.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { createLogger } from '../../src/logger.js';
import { partyKeys } from '../../src/party/persistence.js';
import type { PartyRecord } from '../../src/party/room.js';
import { startStack, tempStoreUrl } from '../party/harness.js';
import { startFakeParti } from '../support/fakeParti.js';
import { launchChromium, playerStats, startPlayerStack, waitFor, type PlayerStack } from './support.js';

const HOSTILE_URL = 'https://x,script-src/show/index.m3u8';

let stack: PlayerStack;
let browser: Browser;
let partyId = '';
let inviteCode = '';

beforeAll(async () => {
  const storeUrl = tempStoreUrl();
  // A party as it was created and stored, with an ordinary clip…
  const fake = await startFakeParti();
  const first = await startStack(fake, { storeUrl });
  const created = await first.service.createParty({
    host: { id: 'host', name: 'Hana' },
    source: 'https://cdn.example/show/index.m3u8',
  });
  [partyId, inviteCode] = [created.id, created.invite_code];
  await first.close();
  await fake.close();
  // …whose clip URL is one the parser let through before hosts were checked.
  const store = await openStore(storeUrl, createLogger('silent'));
  const record = (await store.parties.get<PartyRecord>(partyKeys.record(partyId)))!;
  const clip = record.queue[0]!;
  if (clip.source.kind !== 'url') throw new Error('expected a direct URL clip');
  clip.source.url = HOSTILE_URL;
  await store.parties.set(partyKeys.record(partyId), record);
  await store.close();
  [stack, browser] = await Promise.all([startPlayerStack({ storeUrl }), launchChromium()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('a stored clip URL with a hostile host', () => {
  it('still gets a page whose script runs: the token leaves the address bar and the player connects', async () => {
    const detail = await stack.service.getParty(partyId);
    expect(detail?.queue.map((clip) => clip.source)).toEqual([HOSTILE_URL]);
    const token = (await stack.service.issueToken({ id: 'host', name: 'Hana' }, partyId)).token;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const blockedScripts: string[] = [];
      page.on('console', (message) => {
        if (/Refused to (load|execute) the script/i.test(message.text())) blockedScripts.push(message.text());
      });
      const response = await page.goto(`${stack.base}/watch-parties/${inviteCode}#token=${encodeURIComponent(token)}`);
      expect(response?.status()).toBe(200);
      await waitFor('the page to take the token out of the address bar', () => !page.url().includes('#token'), 10_000);
      await waitFor('the player to connect', async () => (await playerStats(page)).connected === true, 10_000);
      expect(blockedScripts).toEqual([]);
      expect(response?.headers()['content-security-policy']).not.toContain(',');
    } finally {
      await context.close();
    }
  });
});
