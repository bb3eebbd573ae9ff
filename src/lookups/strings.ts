// What /parti says to members, in one place so it can be translated later.
import { inlineCode } from '../discord/format.js';

export const lookupStrings = {
  unreadableQuery: (query: string) =>
    `I could not read ${inlineCode(query, 80)} as a Parti creator. Try a Parti id, a creator link, a video link, or \`twitter:name\`.`,
  unknownUser: (id: number) => `Parti has no user with id ${id}.`,
  unknownVideo: (id: number) => `Parti has no video with id ${id}.`,
  unknownName: (name: string) => `Parti has no creator named ${inlineCode(name, 80)}.`,
  unknownSocial: (service: string, name: string) =>
    `No Parti creator is linked to the ${service} account ${inlineCode(name, 80)}.`,
  notLinked: (name: string) => `${name} has not linked this Discord account to Parti.`,
  unknownCategory: (input: string) =>
    `There is no Parti category called ${inlineCode(input, 50)}. Pick one from the list as you type.`,
  unnamedCreator: (id: number) => `Parti user ${id}`,
  partiId: (id: number) => `Parti id ${id}`,
  members: 'Members',
  channelsJoined: 'Channels joined',
  linkedAccount: 'Linked account',
  liveNow: 'Live now',
  notLive: 'Not live right now',
  untitledStream: 'Untitled stream',
  viewers: (count: number) => `${count.toLocaleString('en-US')} watching`,
  views: (count: number) => `${count.toLocaleString('en-US')} views`,
  startedAt: (when: string) => `started ${when}`,
  recentStreams: 'Recent streams',
  watchLive: 'Watch live on Parti',
  openOnParti: 'Open on Parti',
  previous: '◀ Previous',
  next: 'Next ▶',
  page: (page: number) => `Page ${page}`,
  liveTitle: (category?: string) => (category ? `Live now in ${category}` : 'Live now on Parti'),
  liveEmpty: (category?: string) =>
    category ? `Nobody is live in ${category} right now.` : 'Nobody is live on Parti right now.',
  liveFooter: (count: number, page: number, pages: number) =>
    `${count.toLocaleString('en-US')} live · page ${page} of ${pages}`,
  scheduleTitle: (category?: string) => (category ? `Coming up in ${category}` : 'Coming up on Parti'),
  scheduleEmpty: (category?: string) =>
    category ? `Nothing is scheduled in ${category}.` : 'Nothing is scheduled on Parti.',
  recentTitle: (who?: string, category?: string) =>
    `Recent streams${who ? ` by ${who}` : ''}${category ? ` in ${category}` : ''}`,
  recentEmpty: 'No recent streams match.',
  recentSortViews: 'most viewed first',
  recentSortDate: 'newest first',
  ended: (when: string) => `ended ${when}`,
  by: (name: string) => `by ${name}`,
  featuredTitle: 'Featured on Parti',
  featuredEmpty: 'Parti is featuring nobody right now.',
  categoriesTitle: 'Parti categories',
  categoriesEmpty: 'Parti lists no categories right now.',
  liveCount: (count: number) => `${count} live`,
  membersCount: (count: number) => `${count.toLocaleString('en-US')} members`,
  live: '🔴 live',
  pageFooter: (page: number, pages: number, count: number) => `page ${page} of ${pages} · ${count} in all`,
  pageFooterOpen: (page: number) => `page ${page}`,
} as const;
