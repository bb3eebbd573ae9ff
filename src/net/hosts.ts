// What a host in a URL someone typed may be. The WHATWG URL parser lets through host names that no
// DNS ever answers for (`a;b.example`, `a,b.example`, `*.x`, `a..b`), and a URL's host is copied
// into places where those characters mean something (a Content-Security-Policy header splits on
// `;` and `,`). Hosts are checked here, on the parser's output, before they are used anywhere.
import { isIP } from 'node:net';

const MAX_NAME_LENGTH = 253;
/** Letters, digits and hyphens, not starting or ending with a hyphen; punycode (`xn--`) is LDH too. */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name in the form a URL parser gives it (lower case, IDNs as punycode), with no trailing dot. */
export function isDnsName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && name.split('.').every((label) => LDH_LABEL.test(label));
}

/** A URL's `hostname` that is a DNS name, an IPv4 address or a bracketed IPv6 address. */
export function isValidHost(hostname: string): boolean {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return isIP(hostname.slice(1, -1)) === 6;
  return isIP(hostname) === 4 || isDnsName(hostname);
}
