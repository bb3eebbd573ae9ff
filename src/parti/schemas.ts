// zod schemas for every Parti response the bot reads, and the push socket's go-live message.
// Parti's backend is not ours and changes without notice, so the schemas are deliberately
// tolerant: unknown fields pass through, and a field is required only when the bot cannot do
// without it and every capture shows it (ids). Everything else is optional and may be null.
// Field names stay as Parti sends them (snake_case) so a reader can match them to the captures.
import { z } from 'zod';

const NUMERIC = /^-?\d+(\.\d+)?$/;

/** A number that Parti may also send as a numeric string ("123"). */
const num = z.preprocess(
  (value) => (typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value.trim()) : value),
  z.number().finite(),
);
/** An id: a non-negative integer, numeric strings accepted. */
const id = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value),
  z.number().int().nonnegative(),
);
/** A decimal amount kept as text (prices, token amounts): precision matters more than arithmetic. */
const decimal = z.union([z.string(), z.number()]).transform(String);
/** A boolean Parti might also spell as "true"/"false" or 0/1. */
const bool = z.preprocess((value) => {
  if (value === 'true' || value === 1) return true;
  if (value === 'false' || value === 0) return false;
  return value;
}, z.boolean());

const optNum = num.nullish();
const optId = id.nullish();
const optStr = z.string().nullish();
const optBool = bool.nullish();

// ---------------------------------------------------------------------------------------------
// Profiles and people

/** `GET /profile/user_profile/{user_id}` */
export const UserProfileSchema = z.looseObject({
  user_id: id,
  user_name: optStr,
  user_avatar_id: optNum,
  /** Not in the captures; some deployments send a full avatar URL on assets.parti.com. */
  avatar_link: optStr,
  channels_joined: optNum,
  members: optNum,
  description: optStr,
  social_media: optStr,
  social_username: optStr,
});
export type UserProfile = z.infer<typeof UserProfileSchema>;

/**
 * `GET /profile/get_user_by_social_media/{service}/{name}`: a bare number (JSON or plain text), and
 * `GET /profile/user_id_from_name/{slug}` (newer hosts): `{"user_id": 123}`. Either shape is read from either.
 */
export const UserIdLookupSchema = z.union([id, z.looseObject({ user_id: id }).transform((value) => value.user_id)]);

/** A person in a moderator list (`livestream/moderators/{id}`, `admin/global_mod/list`). */
export const ModeratorSchema = z.looseObject({
  user_id: id,
  user_name: optStr,
  social_media: optStr,
  social_username: optStr,
});
export type Moderator = z.infer<typeof ModeratorSchema>;
export const ModeratorListSchema = z.array(ModeratorSchema);

/** `GET /profile/featured_channels` */
export const FeaturedChannelSchema = z.looseObject({
  user_id: id,
  user_name: optStr,
  members: optNum,
  user_avatar_id: optNum,
  avatar_link: optStr,
});
export type FeaturedChannel = z.infer<typeof FeaturedChannelSchema>;
export const FeaturedChannelListSchema = z.array(FeaturedChannelSchema);

// ---------------------------------------------------------------------------------------------
// Live channels

/** `GET /profile/get_livestream_channel_info/{user_id}` */
export const ChannelInfoSchema = z.looseObject({
  status: optStr,
  channel_info: z
    .looseObject({
      channel: z
        .looseObject({
          livestream_id: optId,
          user_id: optId,
          is_live: optBool,
          current_event_id: optId,
          /** Signed, short-lived: resolve when needed, never store. */
          playback_url: optStr,
          playback_auth_token: optStr,
        })
        .nullish(),
      stream: z
        .looseObject({
          health: optStr,
          state: optStr,
          viewer_count: optNum,
          /** ISO 8601 */
          start_time: optStr,
        })
        .nullish(),
      visibility_type: optStr,
      livestream_event_info: z
        .looseObject({
          event_name: optStr,
          livestream_preview_file: optStr,
        })
        .nullish(),
    })
    .nullish(),
  is_streaming_live_now: optBool,
});
export type ChannelInfo = z.infer<typeof ChannelInfoSchema>;

/** Whether a channel-info answer says the creator is live now (either flag counts). */
export function isChannelLive(info: ChannelInfo): boolean {
  return info.is_streaming_live_now ?? info.channel_info?.channel?.is_live ?? false;
}

/** One entry of `GET /profile/get_livestream_channel_info/live`. */
export const LiveChannelSchema = z.looseObject({
  user_id: id,
  user_name: optStr,
  viewers_count: optNum,
  category_name: optStr,
  event_title: optStr,
  event_id: optId,
  livestream_id: optId,
  user_avatar_id: optNum,
  avatar_link: optStr,
  event_file: optStr,
  social_media: optStr,
  social_username: optStr,
});
export type LiveChannel = z.infer<typeof LiveChannelSchema>;
export const LiveChannelListSchema = z.array(LiveChannelSchema);

// ---------------------------------------------------------------------------------------------
// Recorded streams (VODs), calendar, feed

/** One entry of `GET .../recent?...`, and the object `GET .../recent/{video_id}` answers. */
export const RecentStreamSchema = z.looseObject({
  user_id: id,
  user_name: optStr,
  event_id: id,
  event_title: optStr,
  category_name: optStr,
  total_viewers: optNum,
  event_start_ts: optNum,
  event_end_ts: optNum,
  event_file: optStr,
  avatar_link: optStr,
  user_avatar_id: optNum,
  /** Path relative to the media base (https://watch.parti.com); signed and short-lived. */
  livestream_recording: optStr,
});
export type RecentStream = z.infer<typeof RecentStreamSchema>;
export const RecentStreamListSchema = z.array(RecentStreamSchema);

/** One entry of `GET /profile/livestream_calendar/events`. */
export const CalendarEventSchema = z.looseObject({
  event_id: id,
  user_id: optId,
  user_name: optStr,
  category_id: optId,
  category_name: optStr,
  event_title: optStr,
  event_start_ts: optNum,
  event_end_ts: optNum,
  event_file: optStr,
});
export type CalendarEvent = z.infer<typeof CalendarEventSchema>;
export const CalendarEventListSchema = z.array(CalendarEventSchema);

/** `GET /profile/livestream_calendar/events/categories` */
export const CategorySchema = z.looseObject({
  category_id: id,
  name: optStr,
  display_name: optStr,
});
export type Category = z.infer<typeof CategorySchema>;
export const CategoryListSchema = z.array(CategorySchema);

/** The name to show for a category: Parti leaves `name` empty for some and `display_name` out in places. */
export function categoryLabel(category: Category): string {
  return category.display_name?.trim() || category.name?.trim() || `#${category.category_id}`;
}

/** One entry of `GET /profile/user_profile_feed/{user_id}`. */
export const FeedItemSchema = z.looseObject({
  feed_id: id,
  user_id: optId,
  post_content: optStr,
  event_id: optId,
  created_at: optNum,
  event_file: optStr,
  livestream_recording: optStr,
});
export type FeedItem = z.infer<typeof FeedItemSchema>;
export const FeedItemListSchema = z.array(FeedItemSchema);

// ---------------------------------------------------------------------------------------------
// Chat

/** A chat message (`user_profile_chat/{id}/public`, and inside a pinned message). */
export const ChatMessageSchema = z.looseObject({
  chat_id: id,
  user_id: optId,
  user_name: optStr,
  post_content: optStr,
  created_at: optNum,
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export const ChatMessageListSchema = z.array(ChatMessageSchema);

/** `GET /profile/pinned_message/{user_id}`: `[]`, or `[[channel_name, message], ...]`. */
export const PinnedMessageListSchema = z.array(z.tuple([z.string().nullable(), ChatMessageSchema], z.unknown()));
export type PinnedMessageList = z.infer<typeof PinnedMessageListSchema>;

/** `GET /profile/chat_settings/{user_id}` */
export const ChatSettingsSchema = z.looseObject({
  user_id: id,
  show_timestamp: optBool,
  username_color: optStr,
  user_badges: z.array(z.unknown()).nullish(),
  settings_hint_shown: optBool,
  require_follow_to_chat: optBool,
});
export type ChatSettings = z.infer<typeof ChatSettingsSchema>;

// ---------------------------------------------------------------------------------------------
// Money

/** One entry of `GET /profile/user_currency_info/{user_id}`. */
export const CurrencyInfoSchema = z.looseObject({
  currency_address_id: optId,
  user_id: optId,
  blockchain_id: optId,
  amount: decimal.nullish(),
  pass_name: optStr,
});
export type CurrencyInfo = z.infer<typeof CurrencyInfoSchema>;
export const CurrencyInfoListSchema = z.array(CurrencyInfoSchema);

/** One entry of `GET /profile/assets_prices/info`. */
export const AssetPriceSchema = z.looseObject({
  asset_type: optStr,
  display_symbol: optStr,
  ticker: optStr,
  price: decimal.nullish(),
  /** "up" | "down" in the captures; kept open. */
  direction: optStr,
  price_diff: decimal.nullish(),
});
export type AssetPrice = z.infer<typeof AssetPriceSchema>;
export const AssetPriceListSchema = z.array(AssetPriceSchema);

// ---------------------------------------------------------------------------------------------
// Push socket

/** The message that subscribes a push socket to go-live notifications. Resend after every reconnect. */
export const SUBSCRIBE_NEW_CHANNEL_LIVE = { subscribe_options: { NewChannelLiveNotify: {} } } as const;

/**
 * A go-live notification from the push socket: one flat object, no envelope. Other subscriptions
 * share the socket, so anything without a `user_id` and an `event_id` or `livestream_id` is not a
 * go-live (use {@link parseGoLive}, which answers null for those).
 */
export const GoLiveSchema = z
  .looseObject({
    user_id: id,
    event_id: optId,
    livestream_id: optId,
    user_name: optStr,
    user_avatar_id: optNum,
    avatar_link: optStr,
    event_title: optStr,
    event_file: optStr,
    category_name: optStr,
    viewers_count: optNum,
    social_media: optStr,
    social_username: optStr,
    channel_arn: optStr,
  })
  .refine((value) => value.event_id != null || value.livestream_id != null, {
    message: 'a go-live needs event_id or livestream_id',
  });
export type GoLive = z.infer<typeof GoLiveSchema>;

/** Parses one push-socket message (raw text or already-parsed JSON); null when it is not a go-live. */
export function parseGoLive(message: unknown): GoLive | null {
  let value = message;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const result = GoLiveSchema.safeParse(value);
  return result.success ? result.data : null;
}

/** Short, body-free description of what did not match, for error messages and logs. */
export function summarizeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > max ? ` (+${error.issues.length - max} more)` : '';
  return parts.join('; ') + more;
}
