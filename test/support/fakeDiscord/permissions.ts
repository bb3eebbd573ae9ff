// Permission arithmetic the way Discord documents it (base = @everyone | roles, Administrator and owner
// short-circuit, then @everyone / role / member overwrites). It deliberately matches discord.js's
// GuildChannel#permissionsFor (no implicit "no ViewChannel means nothing" stripping), so that the
// `app_permissions` the fake sends agree with what the bot computes from its cache.
import { PermissionFlagsBits } from 'discord.js';
import type { FakeChannel, FakeGuild, FakeMember } from './types.js';

const P = PermissionFlagsBits;

export const ALL_PERMISSIONS = Object.values(P).reduce((all, bit) => all | bit, 0n);

/** What @everyone gets unless a guild says otherwise: kept narrow so `botPermissions` decides what the bot can post. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  P.ViewChannel | P.ReadMessageHistory | P.AddReactions | P.UseApplicationCommands;

/** The bot role's permissions unless a guild says otherwise. */
export const DEFAULT_BOT_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.SendMessagesInThreads |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.AddReactions |
  P.UseExternalEmojis |
  P.UseApplicationCommands;

/** A regular member invoking commands. */
export const DEFAULT_MEMBER_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.SendMessagesInThreads |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.AddReactions |
  P.UseExternalEmojis |
  P.UseApplicationCommands |
  P.Connect |
  P.Speak;

export function basePermissions(guild: FakeGuild, member: FakeMember): bigint {
  if (member.user.id === guild.ownerId) return ALL_PERMISSIONS;
  let perms = 0n;
  for (const role of guild.roles) {
    if (role.id === guild.everyoneRoleId || member.roles.includes(role.id)) perms |= BigInt(role.permissions);
  }
  return perms & P.Administrator ? ALL_PERMISSIONS : perms;
}

export function channelPermissions(guild: FakeGuild, channel: FakeChannel, member: FakeMember): bigint {
  let perms = basePermissions(guild, member);
  if (perms === ALL_PERMISSIONS && (member.user.id === guild.ownerId || perms & P.Administrator)) return perms;
  const overwrites = channel.permission_overwrites;
  const everyone = overwrites.find((o) => o.id === guild.everyoneRoleId);
  if (everyone) perms = (perms & ~BigInt(everyone.deny)) | BigInt(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && o.id !== guild.everyoneRoleId && member.roles.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  perms = (perms & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === member.user.id);
  if (own) perms = (perms & ~BigInt(own.deny)) | BigInt(own.allow);
  return perms;
}
