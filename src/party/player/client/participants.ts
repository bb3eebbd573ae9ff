// The people list: names and roles, the count in the header, and the host's Remove buttons.
import { authed } from './api.js';
import { showNotice, ui } from './dom.js';
import { state } from './state.js';
import { TEXT } from './strings.js';
import type { MessageHandlers, Participant, Role } from './types.js';

/** Told the count whenever the list changes (inside Discord: the presence, activity.ts). */
let onCount: (count: number) => void = () => undefined;
export function onPeopleCount(listener: (count: number) => void): void {
  onCount = listener;
}

function rank(role: Role): number {
  return role === 'host' ? 0 : role === 'co-host' ? 1 : 2;
}

/** The host removes anyone else; a co-host, viewers (the server decides; the page offers no more). */
function mayRemove(p: Participant): boolean {
  const { me } = state;
  if (p.user_id === me.user_id || p.role === 'host') return false;
  return me.role === 'host' || (me.role === 'co-host' && p.role === 'viewer');
}

/** Two presses: Remove, then Remove? (the person cannot come back, so a slip must not do it). */
function removeButton(p: Participant): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'remove';
  button.textContent = TEXT.remove;
  button.setAttribute('aria-label', TEXT.removeLabel(p.display_name));
  button.addEventListener('click', () => {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = TEXT.confirmRemove;
      button.setAttribute('aria-label', TEXT.confirmRemoveLabel(p.display_name));
      return;
    }
    button.disabled = true;
    void authed(`/${state.partyId}/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: p.user_id }),
    }).then(async (response) => {
      if (response.ok) return;
      button.disabled = false;
      const failure = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
      showNotice(failure?.error?.message ?? `HTTP ${response.status}`);
    });
  });
  return button;
}

export function renderParticipants(): void {
  const items = [...state.participants.values()].sort((a, b) => rank(a.role) - rank(b.role));
  ui.people.textContent = TEXT.people(items.length);
  onCount(items.length);
  ui.people.setAttribute('aria-label', TEXT.peopleLabel(items.length));
  ui.participants.replaceChildren(
    ...items.map((p) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.display_name + (p.user_id === state.me.user_id ? TEXT.you : '');
      const role = document.createElement('span');
      role.className = `role role-${p.role}`;
      role.textContent = TEXT.roles[p.role];
      li.append(name, role);
      if (mayRemove(p)) li.append(removeButton(p));
      return li;
    }),
  );
}

/** Who is in the party; a change of this page's own role also changes what it offers (`roleChanged`). */
export function participantHandlers(
  roleChanged: () => void,
): Pick<MessageHandlers, 'participant-joined' | 'role-changed' | 'participant-left'> {
  const joinedOrChanged = (message: { participant: Participant }): void => {
    state.participants.set(message.participant.user_id, message.participant);
    if (message.participant.user_id === state.me.user_id) {
      state.me = { ...state.me, role: message.participant.role };
      roleChanged();
    }
    renderParticipants();
  };
  return {
    'participant-joined': joinedOrChanged,
    'role-changed': joinedOrChanged,
    'participant-left': (message) => {
      state.participants.delete(message.participant.user_id);
      renderParticipants();
    },
  };
}
