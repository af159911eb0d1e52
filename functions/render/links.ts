/**
 * The links keymend shows: any link it made, checked and encoded for every mail and chat client, and
 * AWS console links to the principal, the key and the stream.
 */
import { type Partition, parseArn, parseKeyArn, parsePrincipalArn, parseStreamArn } from '../commons/arn';
import type { Proposal } from '../core/proposal';

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
