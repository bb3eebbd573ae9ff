// Reactions: anyone may send one of a fixed set; the server sends it to every page (the sender's
// too), where it floats up over the video. Only emoji from the set are ever put on the page.
import { REACTIONS, type ReactionEmoji } from '../../reactions.js';
import { ui } from './dom.js';
import { send } from './socket.js';
import { TEXT } from './strings.js';

const MAX_FLOATING = 24;

export function initReactions(): void {
  ui.reactions.replaceChildren(
    ...REACTIONS.map(({ emoji, name }) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'reaction';
      button.textContent = emoji;
      button.setAttribute('aria-label', TEXT.react(name));
      button.title = name;
      button.addEventListener('click', () => send({ type: 'reaction', emoji }));
      return button;
    }),
  );
}

export function floatReaction(emoji: ReactionEmoji): void {
  if (!REACTIONS.some((reaction) => reaction.emoji === emoji)) return;
  while (ui.reactionLayer.childElementCount >= MAX_FLOATING) ui.reactionLayer.firstElementChild?.remove();
  const item = document.createElement('span');
  item.className = 'floating-reaction';
  item.textContent = emoji;
  // A little spread, so a burst from several people does not stack into one column.
  item.style.left = `${8 + Math.random() * 84}%`;
  item.addEventListener('animationend', () => item.remove());
  ui.reactionLayer.append(item);
}
