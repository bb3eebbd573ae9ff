// Who a request comes from, for every per-address limit (guest joins, creates, wrong invite codes,
// refused socket upgrades). X-Forwarded-For is written by whoever sends the request, so it is
// believed only as far as TRUST_PROXY says: off (the default: the TCP peer is the client), a number
// of proxy hops in front of the bot, or the proxies' own addresses. REST routes (Fastify's
// request.ip) and socket upgrades (raw requests) both read it through clientAddress().
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type TrustProxy =
  | { kind: 'off' }
  /** The nearest `hops` addresses are proxies: only safe when nobody can reach the bot but them. */
  | { kind: 'hops'; hops: number }
  /** Addresses, CIDRs, or `loopback` / `linklocal` / `uniquelocal`. */
  | { kind: 'list'; entries: string[] };

export type TrustFunction = (address: string, hop: number) => boolean;

const NAMED = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY as typed, or the sentence saying what is wrong with it. */
export function parseTrustProxy(value: string | undefined): TrustProxy | string {
  const text = value?.trim().toLowerCase() ?? '';
  if (text === '' || text === 'off' || text === 'false' || text === '0') return { kind: 'off' };
  if (text === 'true' || text === 'on' || text === '*') {
    return 'would believe any client about its own address: give the proxy addresses (e.g. loopback) or a hop count';
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= 10 ? { kind: 'hops', hops } : 'must be at most 10 hops';
  }
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const prefix = Number(bits);
    const valid =
      NAMED.has(entry) ||
      (family !== 0 &&
        extra === undefined &&
        (bits === undefined || (/^\d+$/.test(bits) && prefix <= (family === 4 ? 32 : 128))));
    if (!valid) {
      return `has ${JSON.stringify(entry)}, which is not an address, a CIDR, loopback, linklocal or uniquelocal`;
    }
  }
  return { kind: 'list', entries };
}

export function trustFunction(trust: TrustProxy): TrustFunction {
  switch (trust.kind) {
    case 'off':
      return () => false;
    case 'hops':
      return (_address, hop) => hop < trust.hops;
    case 'list':
      return proxyAddr.compile(trust.entries);
  }
}

/** The client's address: the TCP peer, or the nearest address in X-Forwarded-For not written by a trusted proxy. */
export function clientAddress(request: IncomingMessage, trust: TrustFunction): string {
  return proxyAddr(request, trust);
}

/**
 * What per-address limits count by. One IPv6 subscriber usually holds a whole /64 and can use any
 * address in it, so IPv6 addresses count by their /64; an IPv4 address in IPv6 form is the IPv4 one.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros: string[] = new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  const groups = address.includes('::') ? [...left, ...zeros, ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
