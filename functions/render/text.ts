/**
 * Text helpers shared by the e-mail and chat renderers: how untrusted text is made safe to show, the
 * plain words for decisions and policy layers, names pulled out of ARNs, and AWS console links.
 *
 * Every value that came from an event (names, ARNs, AWS's message, encryption context) is untrusted: a
 * role session name or an error message can hold newlines, control characters, bidi overrides, HTML or
 * chat markdown. Each helper here returns one line of printable ASCII, so such text cannot forge a line,
 * a link or markup in what keymend sends.
 */
import { type Partition, parseArn, parseKeyArn, parsePrincipalArn, parseStreamArn } from '../commons/arn';
import type { Diagnosis } from '../core/diagnose';
import type { Proposal } from '../core/proposal';

/** The longest untrusted value shown in full; longer ones end with a note of how much was left out. */
export const MAX_VALUE_CHARS = 1024;

/** `\uXXXX` for one UTF-16 code unit. */
function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `text` cut to `max` characters, saying how many were left out. */
export function capped(text: string, max: number = MAX_VALUE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/**
 * Breaks URLs and web addresses in untrusted text so no mail or chat client turns them into links:
 * `https://x` becomes `https[:]//x`, `www.x` becomes `www[.]x`.
 */
export function defang(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*):\/\//g, '$1[:]//').replace(/\bwww\./gi, 'www[.]');
}

/**
 * One line of untrusted text for a plain-text body: the backslash doubled, every character outside
 * printable ASCII (newlines, control characters, bidi overrides, non-ASCII letters) written as a visible
 * `\uXXXX` escape, URLs defanged, and at most `max` characters of the original.
 */
export function plainValue(value: string, max: number = MAX_VALUE_CHARS): string {
  const text = value.length > max ? value.slice(0, max) : value;
  const escaped = defang(text.replace(/\\/g, '\\\\').replace(/[^\x20-\x7e]/g, unicodeEscape));
  return value.length > max ? `${escaped}... (${value.length - max} more characters)` : escaped;
}

/**
 * Text for an SNS e-mail subject (or a chat title): printable ASCII only (anything else becomes `?`),
 * whitespace runs collapsed to one space, trimmed, URLs defanged.
 */
export function subjectText(value: string): string {
  return defang(value)
    .replace(/[\s\u0085\u00a0\u2028\u2029]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * JSON for people to read and for tools to copy: indented, with every character outside printable ASCII
 * escaped as `\uXXXX` (still the same JSON value). `extra` names more characters to escape the same way
 * (chat escapes the backtick so a code block cannot be closed from inside).
 */
export function asciiJson(value: unknown, extra?: RegExp): string {
  const text = (JSON.stringify(value, null, 2) ?? 'null').replace(/[^\x20-\x7e\n]/g, unicodeEscape);
  return extra ? text.replace(extra, unicodeEscape) : text;
}

/**
 * Characters CommonMark, Slack and Teams read as markup anywhere in a line: emphasis, strike, code, links
 * (`[`, `]`, `<`, `>`), entities, tables, headings. The rest (`(`, `-`, `.`, `:`) only means something
 * after one of these or at the start of a line, where untrusted text never stands.
 */
const MARKDOWN_SPECIAL = /[\\*_{}[\]#|~]/g;
/**
 * Characters written as visible `\uXXXX` escapes rather than backslash-escaped: Slack's markup ignores
 * backslashes, and `<`, `>`, `&` are how it spells links, mentions and entities; a backtick could pair
 * with another to swallow text into code.
 */
const MARKDOWN_UNICODE = /[`<>&]/g;

/**
 * Untrusted text for chat markdown outside code: printable ASCII (like a subject), URLs defanged, capped;
 * `<`, `>`, `&` and the backtick as `\uXXXX`, every other markdown character backslash-escaped.
 */
export function markdownText(value: string, max: number = MAX_VALUE_CHARS): string {
  return subjectText(defang(capped(value, max)))
    .replace(MARKDOWN_SPECIAL, (c) => `\\${c}`)
    .replace(MARKDOWN_UNICODE, unicodeEscape);
}

/**
 * Untrusted text as a chat inline code span, where markdown is not interpreted: one line of printable
 * ASCII (as `plainValue`), with the backtick and `<`, `>`, `&` escaped as `\uXXXX` so the span cannot be
 * closed and no client reads a `<link|text>` or an entity inside it.
 */
export function markdownCode(value: string, max: number = MAX_VALUE_CHARS): string {
  return `\`${plainValue(value, max).replace(/[`<>&]/g, unicodeEscape)}\``;
}

/** Characters kept as they are in a link; everything else is percent-encoded (parentheses included). */
const URL_SAFE = /^[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]$/;

/**
 * A link keymend made (an approval link, a console link), checked and encoded for any client: only
 * `https:` (or `http:` to this machine, for `keymend local`) with a host; every character outside a
 * conservative set percent-encoded, so the link cannot end a markdown link or break a line. Null for
 * anything else.
 */
export function safeUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (!(parsed.protocol === 'https:' || (parsed.protocol === 'http:' && local))) return null;
  if (parsed.username !== '' || parsed.password !== '') return null;
  return [...parsed.href]
    .map((c) =>
      URL_SAFE.test(c)
        ? c
        : [...Buffer.from(c, 'utf8')]
            .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
            .join(''),
    )
    .join('');
}

type Decision = Diagnosis['current'];
type Layer = Diagnosis['blockingLayers'][number];

/** A decision in words. */
export function decisionWords(decision: Decision): string {
  switch (decision) {
    case 'allowed':
      return 'allowed';
    case 'implicit-deny':
      return 'denied (no policy allows it)';
    case 'explicit-deny':
      return 'denied by an explicit Deny';
    default: {
      const unreachable: never = decision;
      return String(unreachable);
    }
  }
}

/** What an explicit Deny in a policy layer means, in plain words. */
function explicitLayerWords(layer: Layer): string {
  switch (layer) {
    case 'identity-based':
      return 'an IAM policy of the principal (identity-based policy) denies it explicitly';
    case 'resource-based':
      return 'the key policy denies it explicitly';
    case 'grant':
      return 'a KMS grant is involved in the decision';
    case 'permissions-boundary':
      return "the principal's permissions boundary denies it explicitly";
    case 'session':
      return "the role session's session policy denies it explicitly";
    case 'service-control':
      return 'an AWS Organizations service control policy (SCP) denies it explicitly';
    case 'resource-control':
      return 'an AWS Organizations resource control policy (RCP) denies it explicitly';
    default: {
      const unreachable: never = layer;
      return String(unreachable);
    }
  }
}

/** What a blocking policy layer means, in plain words: it lacks an allow, or (`explicit`) it denies. */
export function layerWords(layer: Layer, explicit = false): string {
  if (explicit) return explicitLayerWords(layer);
  switch (layer) {
    case 'identity-based':
      return "no IAM policy of the principal (identity-based policy) allows it, and neither the key policy nor a grant allows it on the principal's behalf";
    case 'resource-based':
      return "the key policy does not allow it (neither for the principal nor by delegating to the account's IAM policies)";
    case 'grant':
      return 'no KMS grant on the key allows it';
    case 'permissions-boundary':
      return "the principal's permissions boundary does not allow it";
    case 'session':
      return "the role session's session policy does not allow it";
    case 'service-control':
      return 'an AWS Organizations service control policy (SCP) does not allow it';
    case 'resource-control':
      return 'an AWS Organizations resource control policy (RCP) does not allow it';
    default: {
      const unreachable: never = layer;
      return String(unreachable);
    }
  }
}

/** The diagnosis in plain words, one sentence per blocking layer. */
export function diagnosisWords(diagnosis: Diagnosis): string[] {
  if (diagnosis.current === 'allowed') return ['The request is allowed by the current policies.'];
  const how = diagnosis.current === 'explicit-deny' ? 'It is denied by an explicit Deny' : 'It is denied';
  if (diagnosis.blockingLayers.length === 0) return [`${how}.`];
  const explicit = diagnosis.current === 'explicit-deny';
  return diagnosis.blockingLayers.map(
    (layer, i) => `${i === 0 ? `${how}: ` : 'Also: '}${layerWords(layer, explicit)}.`,
  );
}

/** The principal's kind and name (`role orders-consumer`), from its ARN; the ARN itself when unparsable. */
export function principalName(arn: string): { kind: 'role' | 'user' | 'principal'; name: string } {
  const parsed = parsePrincipalArn(arn);
  return parsed ? { kind: parsed.kind, name: parsed.name } : { kind: 'principal', name: arn };
}

/** Shown for a key or stream the event did not name and keymend could not find. */
export const NOT_KNOWN = '(not known)';

/** The stream's name, from its ARN; the ARN itself when unparsable; NOT_KNOWN when empty. */
export function streamName(arn: string): string {
  if (arn === '') return NOT_KNOWN;
  return parseStreamArn(arn)?.streamName ?? arn;
}

/** The key as the proposal knows it: its ARN, else the reference the event gave (an alias), else NOT_KNOWN. */
export function keyShown(proposal: Proposal): string {
  return proposal.scope.keyArn || proposal.request.keyReference || NOT_KNOWN;
}

/** The stream as shown beside its name: `orders (ARN)`; NOT_KNOWN when the proposal has none. */
export function streamShown(arn: string, show: (value: string) => string): string {
  return arn === '' ? NOT_KNOWN : `${show(streamName(arn))} (${show(arn)})`;
}

/** The key's aliases as shown beside it: ` (alias/orders)`, or '' when it has none. */
export function aliasSuffix(aliases: readonly string[]): string {
  return aliases.length === 0 ? '' : ` (${aliases.join(', ')})`;
}

/** The AWS console's address in each partition that has one. */
const CONSOLE_HOSTS: Partial<Record<Partition, (region: string) => string>> = {
  aws: (region) => `${region}.console.aws.amazon.com`,
  'aws-cn': () => 'console.amazonaws.cn',
  'aws-us-gov': () => 'console.amazonaws-us-gov.com',
};

export interface ConsoleLinks {
  principal: string | null;
  key: string | null;
  stream: string | null;
}

/**
 * Console links to the principal (IAM console), the key and the stream (each in its Region). A link is
 * null when its ARN does not parse or its partition has no console keymend knows of.
 */
export function consoleLinks(scope: Proposal['scope']): ConsoleLinks {
  const host = (arn: string) => {
    const parsed = parseArn(arn);
    const make = parsed ? CONSOLE_HOSTS[parsed.partition] : undefined;
    return parsed && make ? make(parsed.region || scope.region) : null;
  };
  const principal = parsePrincipalArn(scope.principalArn);
  const principalHost = host(scope.principalArn);
  const key = parseKeyArn(scope.keyArn);
  const keyHost = host(scope.keyArn);
  const stream = parseStreamArn(scope.streamArn);
  const streamHost = host(scope.streamArn);
  const enc = encodeURIComponent;
  return {
    principal:
      principal && principalHost
        ? `https://${principalHost}/iam/home#/${principal.kind}s/details/${enc(principal.name)}`
        : null,
    key:
      key && keyHost
        ? `https://${keyHost}/kms/home?region=${enc(key.region)}#/kms/keys/${enc(key.keyId)}`
        : null,
    stream:
      stream && streamHost
        ? `https://${streamHost}/kinesis/home?region=${enc(stream.region)}#/streams/details/${enc(stream.streamName)}/monitoring`
        : null,
  };
}

/** The account an ARN belongs to ('' when none). */
export function accountOfArn(arn: string): string {
  return parseArn(arn)?.accountId ?? '';
}
