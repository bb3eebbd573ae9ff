// The limits real Discord enforces on messages and command definitions. A bot that builds a 4097-character
// description, a 26th field, a 6th button or an invalid command name works against a lax fake and fails in
// production, so the fake answers such bodies with Discord's 50035 "Invalid Form Body" / 50006 errors.
import { FormErrors, err } from './errors.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const len = (v: unknown): number => (typeof v === 'string' ? [...v].length : 0);
const URL_RE = /^(https?|attachment):\/\/\S+$/;

const FLAG_COMPONENTS_V2 = 1 << 15;

function maxLength(errors: FormErrors, path: Array<string | number>, value: unknown, max: number): void {
  if (value !== undefined && value !== null && len(value) > max) {
    errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }
}

function required(errors: FormErrors, path: Array<string | number>, value: unknown): boolean {
  if (value === undefined || value === null || value === '') {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return false;
  }
  return true;
}

function url(errors: FormErrors, path: Array<string | number>, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !URL_RE.test(value)) {
    errors.add(path, 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
  }
}

function validateEmbeds(errors: FormErrors, embeds: unknown): void {
  if (embeds === undefined || embeds === null) return;
  if (!Array.isArray(embeds)) {
    errors.add(['embeds'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  if (embeds.length > 10) errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  embeds.forEach((embed: unknown, i) => {
    if (!isObject(embed)) {
      errors.add(['embeds', i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    const p = (...rest: Array<string | number>) => ['embeds', i, ...rest];
    maxLength(errors, p('title'), embed['title'], 256);
    maxLength(errors, p('description'), embed['description'], 4096);
    url(errors, p('url'), embed['url']);
    total += len(embed['title']) + len(embed['description']);
    const color = embed['color'];
    if (color !== undefined && color !== null && (typeof color !== 'number' || color < 0 || color > 0xffffff)) {
      errors.add(p('color'), 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 16777215.');
    }
    const ts = embed['timestamp'];
    if (ts !== undefined && ts !== null && (typeof ts !== 'string' || Number.isNaN(Date.parse(ts)))) {
      errors.add(p('timestamp'), 'DATE_TYPE_PARSE', 'Could not parse timestamp. Should be ISO8601.');
    }
    const fields = embed['fields'];
    if (Array.isArray(fields)) {
      if (fields.length > 25) errors.add(p('fields'), 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      fields.forEach((field: unknown, j) => {
        const f = isObject(field) ? field : {};
        if (required(errors, p('fields', j, 'name'), f['name']))
          maxLength(errors, p('fields', j, 'name'), f['name'], 256);
        if (required(errors, p('fields', j, 'value'), f['value']))
          maxLength(errors, p('fields', j, 'value'), f['value'], 1024);
        total += len(f['name']) + len(f['value']);
      });
    }
    const footer = embed['footer'];
    if (isObject(footer)) {
      if (required(errors, p('footer', 'text'), footer['text']))
        maxLength(errors, p('footer', 'text'), footer['text'], 2048);
      url(errors, p('footer', 'icon_url'), footer['icon_url']);
      total += len(footer['text']);
    }
    const author = embed['author'];
    if (isObject(author)) {
      if (required(errors, p('author', 'name'), author['name']))
        maxLength(errors, p('author', 'name'), author['name'], 256);
      url(errors, p('author', 'url'), author['url']);
      url(errors, p('author', 'icon_url'), author['icon_url']);
      total += len(author['name']);
    }
    for (const media of ['image', 'thumbnail'] as const) {
      const m = embed[media];
      if (isObject(m)) url(errors, p(media, 'url'), m['url']);
    }
  });
  if (total > 6000) errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
}

function validateButtonOrSelect(errors: FormErrors, path: Array<string | number>, c: Json, ids: Set<string>): void {
  const type = c['type'];
  if (type === 2) {
    const style = c['style'];
    if (typeof style !== 'number' || style < 1 || style > 6) {
      errors.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3, 4, 5, 6).');
    }
    if (style === 5) {
      if (!c['url']) errors.add([...path, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
      else url(errors, [...path, 'url'], c['url']);
      if (c['custom_id'] !== undefined) {
        errors.add([...path, 'custom_id'], 'COMPONENT_LINK_BUTTON_CUSTOM_ID', 'A link button cannot have a custom id');
      }
    } else if (style !== 6) {
      if (required(errors, [...path, 'custom_id'], c['custom_id']))
        maxLength(errors, [...path, 'custom_id'], c['custom_id'], 100);
    }
    maxLength(errors, [...path, 'label'], c['label'], 80);
    if (!c['label'] && !c['emoji'] && style !== 6) {
      errors.add([...path, 'label'], 'BASE_TYPE_REQUIRED', 'This field is required');
    }
  } else if (type === 3 || type === 5 || type === 6 || type === 7 || type === 8) {
    if (required(errors, [...path, 'custom_id'], c['custom_id']))
      maxLength(errors, [...path, 'custom_id'], c['custom_id'], 100);
    maxLength(errors, [...path, 'placeholder'], c['placeholder'], 150);
    if (type === 3) {
      const options = c['options'];
      if (!Array.isArray(options) || options.length < 1 || options.length > 25) {
        errors.add([...path, 'options'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 25 in length.');
      } else {
        options.forEach((o: unknown, k) => {
          const opt = isObject(o) ? o : {};
          if (required(errors, [...path, 'options', k, 'label'], opt['label']))
            maxLength(errors, [...path, 'options', k, 'label'], opt['label'], 100);
          if (required(errors, [...path, 'options', k, 'value'], opt['value']))
            maxLength(errors, [...path, 'options', k, 'value'], opt['value'], 100);
        });
      }
    }
  }
  const id = c['custom_id'];
  if (typeof id === 'string') {
    if (ids.has(id))
      errors.add([...path, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
    ids.add(id);
  }
}

function countComponents(list: unknown[]): number {
  let n = 0;
  for (const c of list) {
    n++;
    if (isObject(c)) {
      if (Array.isArray(c['components'])) n += countComponents(c['components']);
      if (isObject(c['accessory'])) n++;
    }
  }
  return n;
}

function validateComponents(errors: FormErrors, components: unknown, flags: number): void {
  if (components === undefined || components === null) return;
  if (!Array.isArray(components)) {
    errors.add(['components'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  const ids = new Set<string>();
  if (flags & FLAG_COMPONENTS_V2) {
    // Components v2 layouts nest freely; Discord caps the total instead of the row shape.
    if (countComponents(components) > 40) {
      errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 40 or fewer in length.');
    }
    return;
  }
  if (components.length > 5) errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  components.forEach((row: unknown, i) => {
    if (!isObject(row) || row['type'] !== 1) {
      errors.add(['components', i, 'type'], 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (1,).');
      return;
    }
    const children = row['components'];
    if (!Array.isArray(children) || children.length < 1 || children.length > 5) {
      errors.add(['components', i, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      return;
    }
    const selects = children.filter((c) => isObject(c) && c['type'] !== 2).length;
    if (selects > 0 && children.length > 1) {
      errors.add(
        ['components', i, 'components'],
        'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
        'The specified component exceeds the maximum width',
      );
    }
    children.forEach((c: unknown, j) => {
      if (isObject(c)) validateButtonOrSelect(errors, ['components', i, 'components', j], c, ids);
    });
  });
}

export interface MessageBodyContext {
  /** Creating (not editing): an empty result is 50006. */
  creating: boolean;
  files: number;
}

/** Throws an ApiError for bodies real Discord rejects. */
export function validateMessageBody(body: Json, ctx: MessageBodyContext): void {
  const errors = new FormErrors();
  const flags = typeof body['flags'] === 'number' ? body['flags'] : 0;
  maxLength(errors, ['content'], body['content'], 2000);
  validateEmbeds(errors, body['embeds']);
  validateComponents(errors, body['components'], flags);
  if (flags & FLAG_COMPONENTS_V2) {
    if (body['content'] || (Array.isArray(body['embeds']) && body['embeds'].length > 0)) {
      errors.add(
        ['content'],
        'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
        "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
      );
    }
  }
  const am = body['allowed_mentions'];
  if (isObject(am) && Array.isArray(am['parse'])) {
    for (const kind of ['users', 'roles'] as const) {
      if (am['parse'].includes(kind) && Array.isArray(am[kind]) && am[kind].length > 0) {
        errors.add(
          ['allowed_mentions'],
          'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE',
          `parse:["${kind}"] and ${kind}: [ids...] are mutually exclusive.`,
        );
      }
    }
  }
  errors.throwIfAny();
  if (ctx.creating) {
    const hasContent = typeof body['content'] === 'string' && body['content'].trim().length > 0;
    const hasEmbeds = Array.isArray(body['embeds']) && body['embeds'].length > 0;
    const hasComponents = Array.isArray(body['components']) && body['components'].length > 0;
    const hasStickers = Array.isArray(body['sticker_ids']) && body['sticker_ids'].length > 0;
    if (!hasContent && !hasEmbeds && !hasComponents && !hasStickers && !body['poll'] && ctx.files === 0) {
      throw err.emptyMessage();
    }
  }
}

const CHAT_NAME_RE = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function validateOptions(errors: FormErrors, path: Array<string | number>, options: unknown, depth: number): void {
  if (options === undefined || options === null) return;
  if (!Array.isArray(options)) {
    errors.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
    return;
  }
  if (options.length > 25) errors.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((o: unknown, i) => {
    const opt = isObject(o) ? o : {};
    const p = [...path, i];
    const name = opt['name'];
    if (typeof name !== 'string' || !CHAT_NAME_RE.test(name) || name !== name.toLowerCase()) {
      errors.add([...p, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    } else if (names.has(name)) {
      errors.add([...p, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option name already exists');
    } else names.add(name);
    const description = opt['description'];
    if (typeof description !== 'string' || len(description) < 1 || len(description) > 100) {
      errors.add([...p, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    const type = opt['type'];
    if (typeof type !== 'number' || type < 1 || type > 11) {
      errors.add([...p, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).');
      return;
    }
    if (type === 1 || type === 2) {
      if (depth >= (type === 2 ? 1 : 2)) {
        errors.add(
          [...p, 'type'],
          'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
          'Sub-command and sub-command group option types are mutually exclusive to all other types',
        );
      }
      validateOptions(errors, [...p, 'options'], opt['options'], depth + 1);
      return;
    }
    if (opt['required'] === true) {
      if (sawOptional)
        errors.add(
          [...p, 'required'],
          'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
          'Required options must be placed before non-required options',
        );
    } else sawOptional = true;
    const choices = opt['choices'];
    if (Array.isArray(choices)) {
      if (choices.length > 25) errors.add([...p, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      if (opt['autocomplete'] === true && choices.length > 0) {
        errors.add(
          [...p, 'autocomplete'],
          'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES',
          'Autocomplete cannot be set on options with choices',
        );
      }
      choices.forEach((c: unknown, k) => {
        const choice = isObject(c) ? c : {};
        const n = len(choice['name']);
        if (n < 1 || n > 100)
          errors.add([...p, 'choices', k, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
        maxLength(errors, [...p, 'choices', k, 'value'], choice['value'], 100);
      });
    }
  });
}

/** Validates the body of a bulk-overwrite PUT (an array) or a single POST/PATCH (an object). */
export function validateCommands(body: unknown, single: boolean): Json[] {
  const errors = new FormErrors();
  const list: unknown[] = single ? [body] : Array.isArray(body) ? body : [];
  if (!single && !Array.isArray(body)) {
    errors.add([], 'BASE_TYPE_ARRAY', 'Must be an array.');
    errors.throwIfAny();
  }
  const chatNames = new Set<string>();
  const otherNames = new Set<string>();
  list.forEach((c: unknown, i) => {
    const cmd = isObject(c) ? c : {};
    const p: Array<string | number> = single ? [] : [i];
    const type = typeof cmd['type'] === 'number' ? cmd['type'] : 1;
    const name = cmd['name'];
    if (type === 1) {
      if (typeof name !== 'string' || !CHAT_NAME_RE.test(name) || name !== name.toLowerCase()) {
        errors.add([...p, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
      }
      const d = cmd['description'];
      if (typeof d !== 'string' || len(d) < 1 || len(d) > 100) {
        errors.add([...p, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      }
      validateOptions(errors, [...p, 'options'], cmd['options'], 0);
    } else if (typeof name !== 'string' || len(name) < 1 || len(name) > 32) {
      errors.add([...p, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 32 in length.');
    }
    if (typeof name === 'string') {
      const seen = type === 1 ? chatNames : otherNames;
      const key = `${type}:${name}`;
      if (seen.has(key))
        errors.add([...p, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique`);
      seen.add(key);
    }
  });
  if (chatNames.size > 100) errors.add([], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
  errors.throwIfAny();
  return list.map((c) => (isObject(c) ? c : {}));
}
