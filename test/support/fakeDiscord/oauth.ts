// The OAuth2 and Activity half of the fake Discord: what an Activity's sign-in talks to. A test (as
// the Discord client would, on AUTHORIZE) issues a one-time code for a user; POST /oauth2/token
// trades it once, with the application's id and client secret, for a bearer token; GET /users/@me
// with that token is the user. Activity instances are what the test launched: who is in each and
// where it runs, as GET /applications/:app/activity-instances/:id tells the bot.
import { randomBytes } from 'node:crypto';
import { ApiError } from './errors.js';
import type { FakeUser } from './types.js';

export interface FakeActivityInstance {
  instanceId: string;
  channelId: string;
  guildId: string | null;
  users: string[];
}

/** What Discord answers a bad grant with: 400 and an OAuth2 error, not an API error code. */
class OAuthError extends ApiError {
  constructor(private readonly error: string) {
    super(400, 0, error);
  }
  override toBody(): Record<string, unknown> {
    return { error: this.error };
  }
}

const unauthorized = (): ApiError => new ApiError(401, 0, '401: Unauthorized');

export class FakeOAuth {
  /** The client secret the application's token exchange must carry. */
  readonly clientSecret = randomBytes(24).toString('base64url');
  private readonly codes = new Map<string, { userId: string; scopes: string[] }>();
  private readonly accessTokens = new Map<string, { userId: string; scopes: string[] }>();
  readonly instances = new Map<string, FakeActivityInstance>();
  /** Every exchange tried, for tests: which code, and whether it was taken. */
  readonly exchanges: Array<{ code: string; accepted: boolean }> = [];

  constructor(
    private readonly applicationId: string,
    private readonly users: ReadonlyMap<string, FakeUser>,
  ) {}

  issueCode(user: FakeUser, scopes: string[] = ['identify']): string {
    const code = randomBytes(15).toString('base64url');
    this.codes.set(code, { userId: user.id, scopes });
    return code;
  }

  /** POST /oauth2/token, form-encoded as Discord takes it. */
  token(rawBody: unknown): { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string } {
    const form = new URLSearchParams(typeof rawBody === 'string' ? rawBody : '');
    const code = form.get('code') ?? '';
    if (form.get('client_id') !== this.applicationId || form.get('client_secret') !== this.clientSecret) {
      this.exchanges.push({ code, accepted: false });
      throw new OAuthError('invalid_client');
    }
    const grant = this.codes.get(code);
    // A code is good once: Discord forgets it when it is traded.
    this.codes.delete(code);
    this.exchanges.push({ code, accepted: grant !== undefined && form.get('grant_type') === 'authorization_code' });
    if (!grant || form.get('grant_type') !== 'authorization_code') throw new OAuthError('invalid_grant');
    const accessToken = randomBytes(20).toString('base64url');
    this.accessTokens.set(accessToken, grant);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: 604_800, scope: grant.scopes.join(' ') };
  }

  /** The user behind `Authorization: Bearer …`, or undefined when the header is not a bearer token. */
  bearerUser(authorization: string | undefined): FakeUser | undefined {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!match?.[1]) return undefined;
    const grant = this.accessTokens.get(match[1]);
    const user = grant && this.users.get(grant.userId);
    if (!user) throw unauthorized();
    return user;
  }

  instance(appId: string, instanceId: string): unknown {
    const found = this.instances.get(instanceId);
    if (appId !== this.applicationId || !found) throw new ApiError(404, 10_001, 'Unknown Activity Instance');
    return {
      application_id: this.applicationId,
      instance_id: found.instanceId,
      launch_id: `${found.instanceId}-launch`,
      location: {
        id: `gc-${found.guildId ?? ''}-${found.channelId}`,
        kind: 'gc',
        channel_id: found.channelId,
        guild_id: found.guildId,
      },
      users: [...found.users],
    };
  }
}
