// Alert message templates: the text above a go-live card, with placeholders admins choose.
// Unknown placeholders are refused when the template is saved, never discovered at alert time.
export const PLACEHOLDERS = ['creator', 'title', 'category', 'viewers', 'url', 'role'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateValues = Record<Placeholder, string>;

export const DEFAULT_TEMPLATE = '{role} **{creator}** is live on Parti: {title}';
export const MAX_TEMPLATE_LENGTH = 500;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The placeholders a template uses that do not exist (empty when the template is fine). */
export function unknownPlaceholders(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) unknown.add(`{${name}}`);
  }
  return [...unknown];
}

/**
 * Fills a template as the admin wrote it. The values are already what Discord may show: the caller
 * escapes what came from Parti (names, titles) so it cannot format, link or mention anything;
 * `{role}` is the one value that is a real mention, and `allowedMentions` limits it to that role.
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template
    .replace(PLACEHOLDER, (whole, name: string) =>
      (PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : whole,
    )
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}
