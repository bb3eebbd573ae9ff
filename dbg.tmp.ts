import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, makeMedia, playerStats, sleep, startDelayProxy, startMediaServer, startPlayerStack } from './test/player/support.js';
const dir = mkdtempSync(join(tmpdir(), 'dbg-'));
const clip = await makeMedia(dir, 'long', { seconds: 60, format: 'hls' });
const media = await startMediaServer(dir);
const stack = await startPlayerStack();
const proxy = await startDelayProxy(stack.base, { delayMs: 100, jitterMs: 50 });
const browser = await launchChromium();
try {
  const created = await stack.service.createParty({ host: { id: 'host', name: 'Host' }, source: `${media.url}/${clip}` });
  const pages = [];
  for (const id of ['v1', 'v2', 'v3']) {
    const token = (await stack.service.issueToken({ id, name: id }, created.id)).token;
    const page = await (await browser.newContext()).newPage();
    page.on('console', (m) => console.log(id, 'PAGE', m.type(), m.text().slice(0, 200)));
    page.on('pageerror', (e) => console.log(id, 'ERR', e.message));
    await page.goto(`${proxy.url}/watch-parties/${created.invite_code}#token=${encodeURIComponent(token)}`);
    pages.push(page);
  }
  await stack.service.command(created.id, 'host', { type: 'play' });
  for (let i = 0; i < 6; i++) {
    await sleep(1500);
    for (const [i2, page] of pages.entries()) {
      const st = await playerStats(page);
      const v = await page.evaluate(() => { const v = document.querySelector('video')!; return { ct: v.currentTime.toFixed(2), paused: v.paused, rs: v.readyState, src: v.src.slice(0, 30), conn: document.getElementById('conn-status')!.textContent, notice: document.getElementById('notice')!.textContent }; });
      console.log(i2, JSON.stringify(v), st.driftMs, st.clipId);
    }
  }
  console.log(media.requests.slice(0, 5));
} finally { await browser.close(); await proxy.close(); await stack.close(); await media.close(); }
