/**
 * A validator for AWS Chatbot (Amazon Q Developer in chat applications) custom notifications, after the
 * documented schema: `version` "1.0", `source` "custom", optional `id`, `content` (textType, title,
 * description, nextSteps, keywords) and optional `metadata` (threadId, summary, eventType,
 * relatedResources, additionalContext). The service drops payloads off the schema silently, so fields it
 * does not document are rejected here.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Problems with `value` as a custom notification; empty when it follows the schema. */
export function chatSchemaErrors(value: unknown): string[] {
  const errors: string[] = [];
  const unknownKeys = (object: Json, allowed: string[], where: string) => {
    for (const key of Object.keys(object)) {
      if (!allowed.includes(key)) errors.push(`${where}${key}: not in the schema`);
    }
  };
  const optionalString = (object: Json, key: string, where: string) => {
    if (key in object && typeof object[key] !== 'string') errors.push(`${where}${key}: not a string`);
  };
  if (!isObject(value)) return ['the notification is not an object'];
  unknownKeys(value, ['version', 'source', 'id', 'content', 'metadata'], '');
  if (value.version !== '1.0') errors.push('version: must be "1.0"');
  if (value.source !== 'custom') errors.push('source: must be "custom"');
  optionalString(value, 'id', '');
  const content = value.content;
  if (!isObject(content)) {
    errors.push('content: required object');
  } else {
    unknownKeys(content, ['textType', 'title', 'description', 'nextSteps', 'keywords'], 'content.');
    if ('textType' in content && content.textType !== 'client-markdown') {
      errors.push('content.textType: must be "client-markdown"');
    }
    optionalString(content, 'title', 'content.');
    if (typeof content.description !== 'string') errors.push('content.description: required string');
    for (const key of ['nextSteps', 'keywords']) {
      if (key in content && !isStringArray(content[key]))
        errors.push(`content.${key}: not an array of strings`);
    }
  }
  if ('metadata' in value) {
    const metadata = value.metadata;
    if (!isObject(metadata)) {
      errors.push('metadata: not an object');
    } else {
      unknownKeys(
        metadata,
        ['threadId', 'summary', 'eventType', 'relatedResources', 'additionalContext'],
        'metadata.',
      );
      for (const key of ['threadId', 'summary', 'eventType']) optionalString(metadata, key, 'metadata.');
      if ('relatedResources' in metadata && !isStringArray(metadata.relatedResources)) {
        errors.push('metadata.relatedResources: not an array of strings');
      }
      if ('additionalContext' in metadata) {
        const context = metadata.additionalContext;
        if (!isObject(context) || !Object.values(context).every((v) => typeof v === 'string')) {
          errors.push('metadata.additionalContext: not an object of strings');
        }
      }
    }
  }
  return errors;
}

/**
 * The text of chat markdown a client reads as markup: outside code blocks and code spans, with every
 * backslash-escaped character removed. Reads left to right as CommonMark does: an escaped backtick
 * opens no code span.
 */
export function markdownProse(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('```', i) && (i === 0 || text[i - 1] === '\n')) {
      const end = text.indexOf('\n```', i + 3);
      if (end === -1) return `${out}${text.slice(i)}`;
      i = end + 4;
    } else if (text[i] === '\\') {
      i += 2;
    } else if (text[i] === '`') {
      const end = text.indexOf('`', i + 1);
      if (end === -1 || text.slice(i, end).includes('\n')) {
        out += '`';
        i += 1;
      } else {
        i = end + 1;
      }
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}
