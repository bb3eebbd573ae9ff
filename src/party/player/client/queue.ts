// The queue list and the "now playing" line.
import { ui } from './dom.js';
import { state } from './state.js';
import { TEXT } from './strings.js';

export function renderQueue(): void {
  ui.queue.replaceChildren(
    ...state.queue.map((clip) => {
      const li = document.createElement('li');
      li.textContent = clip.title;
      if (clip.id === state.currentClipId) {
        li.className = 'current';
        li.setAttribute('aria-current', 'true');
      }
      return li;
    }),
  );
  const current = state.queue.find((clip) => clip.id === state.currentClipId);
  ui.nowPlaying.textContent = current ? current.title : TEXT.nothingPlaying;
}
