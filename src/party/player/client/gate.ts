// Joining: a personal link goes straight in; a public party asks for a name (a guest join); a
// private one explains. showGate is the one place the page shows the gate instead of the party.
import { apiUrl, authed } from './api.js';
import { ui } from './dom.js';
import { state } from './state.js';
import { TEXT } from './strings.js';
import { getToken, inviteCode, reloadForMedia, setToken } from './token.js';
import type { PartyDetail } from './types.js';

/** Before joining there is nothing to be connected to or in sync with: only the title and the gate. */
export function showGate(text: string, guest = false): void {
  ui.loading.hidden = true;
  ui.app.hidden = true;
  for (const pill of [ui.people, ui.conn, ui.sync]) pill.hidden = true;
  ui.gate.hidden = false;
  ui.gateText.textContent = text;
  ui.guestForm.hidden = !guest;
}

/**
 * Looks the party up with the page's token and shows it (then `enter` connects), or the gate: a
 * name to join a public party with, or why there is no party to show.
 */
export async function join(enter: () => void): Promise<void> {
  if (reloadForMedia()) return;
  const response = await authed(`/by-code/${encodeURIComponent(inviteCode)}`);
  if (response.status === 401 && getToken()) {
    setToken(null);
    return join(enter);
  }
  const body = (await response.json().catch(() => null)) as {
    data?: PartyDetail;
    error?: { code?: string; message?: string };
  } | null;
  if (response.status === 429) return showGate(body?.error?.message ?? `HTTP ${response.status}`);
  if (body?.error?.code === 'REMOVED') return showGate(TEXT.removed);
  if (!response.ok || !body?.data) return showGate(TEXT.notFoundOrPrivate(inviteCode.toUpperCase()));
  ui.title.textContent = body.data.title;
  document.title = body.data.title;
  if (!getToken()) {
    const playing = body.data.queue.find((clip) => clip.id === body.data?.current_clip_id)?.title ?? null;
    ui.gateAbout.textContent = TEXT.gateAbout(body.data.participants.length, playing);
    ui.gateAbout.hidden = false;
    return showGate(TEXT.guestPrompt, true);
  }
  state.partyId = body.data.id;
  ui.loading.hidden = true;
  ui.gate.hidden = true;
  ui.app.hidden = false;
  for (const pill of [ui.people, ui.conn, ui.sync]) pill.hidden = false;
  enter();
}

/** The guest form: a name gets a guest token, then the party. */
export function initGate(enter: () => void): void {
  ui.guestForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = ui.guestName.value.trim();
    if (!name) return;
    void fetch(apiUrl(`/${encodeURIComponent(inviteCode)}/guest`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ display_name: name }),
    }).then(async (response) => {
      const body = (await response.json().catch(() => null)) as {
        data?: { token: string };
        error?: { message: string };
      } | null;
      if (!response.ok || !body?.data) {
        ui.gateText.textContent = body?.error?.message ?? `HTTP ${response.status}`;
        return;
      }
      setToken(body.data.token);
      if (!reloadForMedia()) void join(enter);
    });
  });
}
