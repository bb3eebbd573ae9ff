// Screenshots of the web player for people to look at (`npm run player:screenshots`): a host on a
// laptop (1280×800), a viewer on a phone (390×844) and on the narrowest phone (320×640), and a
// stranger on the bare link of a public party, while a party plays, people react and chat. Prints where
// the files are. (Emoji need a color emoji font on the machine, e.g. Debian's fonts-noto-color-emoji.)
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, makeMedia, sleep, startMediaServer, startPlayerStack } from './support.js';

const out = process.argv[2] ?? join(tmpdir(), 'watch-party-screenshots');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'screenshot-media-'));
const clip = await makeMedia(dir, 'big-buck-bunny', { seconds: 60, format: 'hls' });
const [media, stack, browser] = await Promise.all([startMediaServer(dir), startPlayerStack(), launchChromium()]);
try {
  const created = await stack.service.createParty({
    host: { id: 'host', name: 'Hana' },
    source: `${media.url}/${clip}`,
    title: 'Friday movie night',
    visibility: 'public',
  });
  for (const name of ['Vic', 'Lou', 'Sam']) await stack.service.joinByCode(created.invite_code, { id: name, name });
  for (const [who, text] of [
    ['host', 'Welcome everyone! Starting in a minute.'],
    ['Vic', 'Popcorn ready 🍿'],
    ['Lou', 'The director talks about this scene here: https://example.com/interview'],
    ['host', 'Nice find, thanks Lou'],
    ['Sam', 'Can we watch the sequel next week?'],
  ] as const) {
    await stack.service.postChat(created.id, who, text);
  }
  const open = async (name: string, token: string | null, viewport: { width: number; height: number }) => {
    const context = await browser.newContext({
      viewport,
      isMobile: viewport.width < 500,
      hasTouch: viewport.width < 500,
    });
    const page = await context.newPage();
    const hash = token ? `#token=${encodeURIComponent(token)}` : '';
    await page.goto(`${stack.base}/watch-parties/${created.invite_code}${hash}`);
    return { name, page };
  };
  const viewerToken = async (id: string) => (await stack.service.issueToken({ id, name: id }, created.id)).token;
  const shots = [
    await open('host-1280x800', created.token, { width: 1280, height: 800 }),
    await open('viewer-phone-390x844', await viewerToken('Vic'), { width: 390, height: 844 }),
    await open('viewer-phone-320x640', await viewerToken('Lou'), { width: 320, height: 640 }),
    await open('stranger-390x844', null, { width: 390, height: 844 }),
  ];
  await stack.service.command(created.id, 'host', { type: 'play' });
  await sleep(3500);
  // A few reactions in the air, as in a party people are enjoying.
  for (const [who, emoji] of [
    ['Vic', '🔥'],
    ['Lou', '😂'],
    ['Sam', '👏'],
    ['host', '❤️'],
  ] as const) {
    await stack.service.command(created.id, who, { type: 'reaction', emoji });
  }
  await sleep(600);
  for (const { name, page } of shots) {
    const file = join(out, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(file);
  }
} finally {
  await browser.close();
  await stack.close();
  await media.close();
}
