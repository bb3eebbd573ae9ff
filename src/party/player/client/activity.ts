// The player inside Discord (a Discord Activity): the same page, started by Discord with its
// `frame_id` and `instance_id` in the address. This module is the whole difference: it speaks to the
// Discord client through the Embedded App SDK (ready, authorize with `identify`, the one-time code to
// the bot, authenticate), hands the rest of the player the party token the bot gave for this instance,
// and turns every URL the player would reach into its `/.proxy/…` form, since Discord lets an Activity
// reach nothing else. The SDK is loaded only here, in its own chunk: a browser page never fetches it.
import { PROXY_ROOT, proxiedUrl, type ProxyMapping } from '../proxyUrl.js';
import { TEXT } from './strings.js';

/** Where the party server is through Discord's proxy (the `/party` mapping: activityMappings.ts). */
const PARTY_BASE = `${PROXY_ROOT}/party`;
/** Discord's presence lines are at most 128 characters. */
const PRESENCE_MAX = 128;
/** ActivityType.Watching: Discord shows "Watching …". */
const WATCHING = 3;

export interface ActivitySession {
  token: string;
  invite_code: string;
  party_id: string;
}

export interface Activity {
  session: ActivitySession;
  /** The prefix every party API and socket path takes here. */
  apiBase: string;
  /** The proxied form of a media URL, or the reason to show when no mapping reaches it. */
  mediaUrl: (url: string) => { url: string } | { refused: string };
  /** For requests the media player makes on its own (segments): proxied when a mapping reaches it. */
  requestUrl: (url: string) => string;
  /** The member's Discord status: what the party watches, and how many watch it. */
  setPresence: (title: string, watching: number) => void;
}

/** Discord starts an Activity with these in its address; a browser never has them. */
export function inActivity(search: string = location.search): boolean {
  const params = new URLSearchParams(search);
  return params.has('frame_id') && params.has('instance_id');
}

export class ActivityError extends Error {
  override name = 'ActivityError';
}

/** Signs in through Discord and the bot. Throws ActivityError with a sentence for the page. */
export async function startActivity(): Promise<Activity> {
  const clientId = document.querySelector<HTMLMetaElement>('meta[name="discord-client-id"]')?.content ?? '';
  const { DiscordSDK, Events } = await import('@discord/embedded-app-sdk');
  // Console capture would send every log line to Discord's client: the page logs nothing it needs there.
  const sdk = new DiscordSDK(clientId, { disableConsoleLogOverride: true });
  await sdk.ready();
  const { code } = await sdk.commands.authorize({
    client_id: clientId,
    response_type: 'code',
    state: '',
    prompt: 'none',
    scope: ['identify'],
  });
  const response = await fetch(`${PARTY_BASE}/api/v1/activity/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, instance_id: sdk.instanceId }),
  });
  const body = (await response.json().catch(() => null)) as {
    data?: ActivitySession & { access_token: string; mappings: ProxyMapping[] };
    error?: { message?: string };
  } | null;
  if (!response.ok || !body?.data) throw new ActivityError(body?.error?.message ?? TEXT.activityFailed);
  const { access_token: accessToken, mappings, ...session } = body.data;
  await sdk.commands.authenticate({ access_token: accessToken });

  // Who is in the call, from Discord (the party's own list is who plays; this is who is here).
  const call = document.createElement('span');
  call.id = 'in-call';
  call.className = 'pill';
  document.querySelector('header')?.append(call);
  const showCall = (
    people: Array<{ username: string; global_name?: string | null | undefined; nickname?: string | undefined }>,
  ): void => {
    call.textContent = TEXT.inCall(people.map((p) => p.nickname || p.global_name || p.username).join(', '));
  };
  void sdk.commands
    .getInstanceConnectedParticipants()
    .then(({ participants }) => showCall(participants))
    .catch(() => undefined);
  void sdk
    .subscribe(Events.ACTIVITY_INSTANCE_PARTICIPANTS_UPDATE, ({ participants }) => showCall(participants))
    .catch(() => undefined);
  document.body.classList.add('activity');

  let presence = '';
  return {
    session,
    apiBase: PARTY_BASE,
    mediaUrl: (url) => {
      const proxied = proxiedUrl(url, mappings);
      return proxied === null ? { refused: TEXT.unmapped(new URL(url, location.href).host) } : { url: proxied };
    },
    // hls.js resolves a playlist's relative URLs against the proxied one already; absolute ones need this.
    requestUrl: (url) => proxiedUrl(url, mappings) ?? url,
    setPresence: (title, watching) => {
      const details = TEXT.presence(title, watching).slice(0, PRESENCE_MAX);
      if (details === presence) return;
      presence = details;
      void sdk.commands.setActivity({ activity: { type: WATCHING, details } }).catch(() => undefined);
    },
  };
}
