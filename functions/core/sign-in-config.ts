/**
 * The approval function's sign-in settings (issue 21), read and checked once at cold start from the
 * environment (names in commons/sign-in.ts). Pure. Sign-in is off when none of the provider's settings
 * is set; half a configuration is an error naming what is missing, never a silent fallback to links
 * alone.
 */
import { parseSecretArn } from '../commons/arn';
import { ConfigError } from '../commons/errors';
import { SIGN_IN_ENV } from '../commons/sign-in';
import type { ApproverRule } from './approvers';

export interface SignInConfig {
  issuer: string;
  clientId: string;
  clientSecretArn: string;
  rule: ApproverRule;
  groupsClaim: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const EMAIL = /^[^\s@,]+@[^\s@,]+$/;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function list(env: Env, name: string): string[] {
  return (text(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function issuerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      SIGN_IN_ENV.issuer,
      `expected the provider's issuer URL, got ${JSON.stringify(value)}`,
    );
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new ConfigError(SIGN_IN_ENV.issuer, `expected an https URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The sign-in settings, or null when sign-in is off.
 * @throws ConfigError naming the first variable that is missing or wrong.
 */
export function parseSignInConfig(env: Env): SignInConfig | null {
  const issuer = text(env, SIGN_IN_ENV.issuer);
  const clientId = text(env, SIGN_IN_ENV.clientId);
  const clientSecretArn = text(env, SIGN_IN_ENV.clientSecretArn);
  const emails = list(env, SIGN_IN_ENV.approverEmails);
  const groups = list(env, SIGN_IN_ENV.approverGroups);
  if (issuer === undefined) {
    const stray = [
      [SIGN_IN_ENV.clientId, clientId],
      [SIGN_IN_ENV.clientSecretArn, clientSecretArn],
      [SIGN_IN_ENV.approverEmails, emails.length > 0 ? 'set' : undefined],
      [SIGN_IN_ENV.approverGroups, groups.length > 0 ? 'set' : undefined],
    ].find(([, value]) => value !== undefined);
    if (stray) {
      throw new ConfigError(
        stray[0] as string,
        `is set but ${SIGN_IN_ENV.issuer} is not: sign-in needs the provider's issuer URL`,
      );
    }
    return null;
  }
  if (clientId === undefined) throw new ConfigError(SIGN_IN_ENV.clientId, 'required when sign-in is on');
  if (clientSecretArn === undefined) {
    throw new ConfigError(SIGN_IN_ENV.clientSecretArn, 'required when sign-in is on');
  }
  if (parseSecretArn(clientSecretArn) === null) {
    throw new ConfigError(
      SIGN_IN_ENV.clientSecretArn,
      `expected a Secrets Manager secret ARN, got ${JSON.stringify(clientSecretArn)}`,
    );
  }
  for (const email of emails) {
    if (!EMAIL.test(email)) {
      throw new ConfigError(SIGN_IN_ENV.approverEmails, `${JSON.stringify(email)} is not an e-mail address`);
    }
  }
  if (emails.length === 0 && groups.length === 0) {
    throw new ConfigError(
      SIGN_IN_ENV.approverEmails,
      `sign-in is on but nobody may approve: list e-mail addresses here or groups in ${SIGN_IN_ENV.approverGroups}`,
    );
  }
  return {
    issuer: issuerUrl(issuer),
    clientId,
    clientSecretArn,
    rule: { emails, groups },
    groupsClaim: text(env, SIGN_IN_ENV.groupsClaim) ?? 'groups',
  };
}
