// Requests to URLs that people gave us (a direct link a host pasted, the playlist behind a live
// stream). Such a URL can name what the server reaches and the people who gave it cannot: the
// loopback interface, the LAN, a cloud metadata endpoint (169.254.169.254). Without a proxy, every
// address a host name resolves to is checked as the connection is opened, so a name that answers a
// public address first and a private one a moment later (DNS rebinding) is still refused.
// MEDIA_ALLOW_PRIVATE turns the filter off, for media on a LAN (and the tests' 127.0.0.1 servers).
import { lookup as systemLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, ProxyAgent, buildConnector, request, type Dispatcher } from 'undici';

/** The address a host name or IP literal came to, and why it is not fetched from. */
export class OutboundRefusal extends Error {
  override name = 'OutboundRefusal';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(host === address ? `${address} is not a public address` : `${host} is ${address}, not a public address`);
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address of a host name; the system resolver unless a test injects one. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface OutboundOptions {
  /** MEDIA_ALLOW_PRIVATE: fetch from loopback, private and link-local addresses too. */
  allowPrivate?: boolean | undefined;
  /** PARTI_PROXY_URL: the proxy every request goes through, by CONNECT. */
  proxyUrl?: string | undefined;
  resolve?: Resolver | undefined;
}

export interface Outbound {
  /** Throws OutboundRefusal when the URL's host is, or resolves to, an address not fetched from. */
  check(url: URL): Promise<void>;
  /** undici's `request`, checked first and, without a proxy, checked again as it connects. */
  request(
    url: URL,
    options: Omit<NonNullable<Parameters<typeof request>[1]>, 'dispatcher'>,
  ): ReturnType<typeof request>;
}

const IPV4_NOT_PUBLIC: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, where clouds answer metadata requests
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const IPV6_NOT_PUBLIC: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed on some LANs)
  ['ff00::', 8], // multicast
];
/** IPv6 forms that carry an IPv4 address: mapped (::ffff:127.0.0.1), compatible (::127.0.0.1), NAT64. */
const IPV4_IN_IPV6 = ['::ffff:', '::', '64:ff9b::'];

const notPublic = new BlockList();
for (const [network, prefix] of IPV4_NOT_PUBLIC) {
  notPublic.addSubnet(network, prefix, 'ipv4');
  for (const form of IPV4_IN_IPV6) notPublic.addSubnet(`${form}${network}`, 96 + prefix, 'ipv6');
}
for (const [network, prefix] of IPV6_NOT_PUBLIC) notPublic.addSubnet(network, prefix, 'ipv6');

/** True for anything that is not a public unicast address (a string that is no address at all included). */
function isNotPublicAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, ''); // a zone (fe80::1%eth0) is only ever on link-local addresses
  const family = isIP(bare);
  return family === 0 || notPublic.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

/** The addresses of a host (an IP literal is its own), or OutboundRefusal if any of them is not public. */
async function publicAddresses(host: string, resolve: Resolver): Promise<ResolvedAddress[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  const addresses = family ? [{ address: bare, family }] : await resolve(bare);
  // One address that is not public refuses the name: a connection may fall back to any of them.
  const refused = addresses.find(({ address }) => isNotPublicAddress(address));
  if (refused) throw new OutboundRefusal(bare, refused.address);
  return addresses;
}

/** net.connect's `lookup`: the resolver's answer at connect time, refused unless every address is public. */
function publicOnlyLookup(resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    publicAddresses(hostname, resolve).then(
      (all) => {
        const addresses =
          options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
        const first = addresses[0];
        if (!first) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        else if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error, '', 0),
    );
  };
}

const systemResolver: Resolver = (hostname) => systemLookup(hostname, { all: true });

export function createOutbound(options: OutboundOptions = {}): Outbound {
  const resolve = options.resolve ?? systemResolver;
  const allowPrivate = options.allowPrivate === true;

  let dispatcher: Dispatcher;
  if (options.proxyUrl) {
    // The proxy resolves the name again and may get another answer: with a proxy, the check before
    // the request is ours, and the proxy's own egress rules are the last word on where it connects.
    dispatcher = new ProxyAgent({ uri: options.proxyUrl });
  } else if (allowPrivate) {
    dispatcher = new Agent();
  } else {
    const connectVia = buildConnector({ lookup: publicOnlyLookup(resolve) });
    dispatcher = new Agent({
      connect(connectOptions, callback) {
        // net.connect never looks up an IP literal, so the lookup above cannot see it.
        if (isIP(connectOptions.hostname) && isNotPublicAddress(connectOptions.hostname)) {
          callback(new OutboundRefusal(connectOptions.hostname, connectOptions.hostname), null);
          return;
        }
        connectVia(connectOptions, callback);
      },
    });
  }

  async function check(url: URL): Promise<void> {
    if (!allowPrivate) await publicAddresses(url.hostname, resolve);
  }

  return {
    check,
    async request(url, requestOptions) {
      // Also without a proxy: a refusal then comes before any connection is tried.
      await check(url);
      return request(url, { ...requestOptions, dispatcher });
    },
  };
}
