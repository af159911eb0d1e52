/**
 * The functions' configuration: environment variables (names in commons/constants.ts `ENV`) read and
 * checked once, at cold start. Pure: the caller passes the record (`process.env` in a handler, a plain
 * object in tests and `keymend local`). A bad value throws a ConfigError naming the variable.
 */
import { parseKeyArn, parseRoleArn, parseTopicArn, principalPatternKind } from '../commons/arn';
import { ENV } from '../commons/constants';
import { ConfigError } from '../commons/errors';
import {
  inRange,
  isOneOf,
  MECHANISMS,
  type Mechanism,
  MODES,
  type Mode,
  SETTINGS,
  type WholeNumberSetting,
} from '../commons/settings';
import { type NotificationRoute, parseRoutes } from './routing';

export type { Mode };

export interface Config {
  /** DynamoDB table name. */
  tableName: string;
  /** SNS topic for e-mail. */
  emailTopicArn: string;
  /** SNS topic for chat; null when there is none. */
  chatTopicArn: string | null;
  /** The KMS HMAC key that signs approve and reject links. */
  decisionKeyId: string;
  /** The KMS HMAC key that signs revoke links; null in the remediate function, which may not use it. */
  revokeKeyId: string | null;
  /**
   * The approval function's base URL, without a trailing slash. '' in the approval function itself
   * (see ConfigOptions): its own URL cannot be in its environment, so it takes it from each request.
   */
  approvalUrl: string;
  /** @default 'propose' */
  mode: Mode;
  /** ARN patterns (`*` and `?` wildcards) of principals auto mode may fix. @default [] */
  autoApplyPrincipals: string[];
  /** @default 'kms-grant' */
  preferMechanism: Mechanism;
  /** @default 72 */
  linkTtlHours: number;
  /** @default 10 */
  autoApplyHourlyLimit: number;
  /** @default false */
  autoApplyCloudFormation: boolean;
  /** Mechanisms keymend may apply at all. @default ['kms-grant'] */
  enabledMechanisms: Mechanism[];
  /** @default 168 (seven days) */
  rejectSuppressHours: number;
  /** The retiring principal of keymend's grants: the approval function's role ARN. */
  retiringPrincipal: string;
  /** Which topic gets the e-mails of which account or OU (core/routing.ts). @default [] */
  notificationRoutes: NotificationRoute[];
  /**
   * An organization deployment's hub: the organization (`o-...`) whose member accounts keymend reads
   * and changes through their member role. Absent in a single-account stack.
   */
  organizationId?: string;
}

export type EnvRecord = Readonly<Record<string, string | undefined>>;

function text(env: EnvRecord, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function required(env: EnvRecord, name: string, what: string): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigError(name, `required: ${what}`);
  return value;
}

function topicArn(env: EnvRecord, name: string, what: string, optional: true): string | null;
function topicArn(env: EnvRecord, name: string, what: string, optional?: false): string;
function topicArn(env: EnvRecord, name: string, what: string, optional = false): string | null {
  const value = optional ? text(env, name) : required(env, name, what);
  if (value === undefined) return null;
  if (parseTopicArn(value) === null)
    throw new ConfigError(name, `expected ${what}, got ${JSON.stringify(value)}`);
  return value;
}

function keyArn(env: EnvRecord, name: string, what: string, optional: true): string | null;
function keyArn(env: EnvRecord, name: string, what: string, optional?: false): string;
function keyArn(env: EnvRecord, name: string, what: string, optional = false): string | null {
  const value = optional ? text(env, name) : required(env, name, what);
  if (value === undefined) return null;
  if (parseKeyArn(value) === null)
    throw new ConfigError(name, `expected ${what}, got ${JSON.stringify(value)}`);
  return value;
}

/** A whole-number setting, within its range (commons/settings.ts); its default when unset. */
function wholeNumber(env: EnvRecord, setting: WholeNumberSetting): number {
  const value = text(env, setting.env);
  if (value === undefined) return setting.default;
  if (!/^\d+$/.test(value) || !inRange(setting, Number(value))) {
    throw new ConfigError(
      setting.env,
      `expected a whole number from ${setting.min} to ${setting.max}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

function mechanism(name: string, value: string): Mechanism {
  if (!isOneOf(MECHANISMS, value)) {
    throw new ConfigError(name, `expected one of ${MECHANISMS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function list(env: EnvRecord, name: string): string[] | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function url(env: EnvRecord, name: string, optional: boolean): string {
  if (optional && text(env, name) === undefined) return '';
  const value = required(env, name, "the approval function's URL (https://...)");
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `expected a URL, got ${JSON.stringify(value)}`);
  }
  const local = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost';
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local)) {
    throw new ConfigError(
      name,
      `expected an https URL (http only for 127.0.0.1), got ${JSON.stringify(value)}`,
    );
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(name, 'expected a base URL without a query or fragment');
  }
  return value.replace(/\/+$/, '');
}

export interface ConfigOptions {
  /**
   * `optional` for the approval function, whose own URL cannot be in its environment (the stack would
   * depend on itself): `approvalUrl` is then '' unless set. @default 'required'
   */
  approvalUrl?: 'required' | 'optional';
}

/**
 * Reads the configuration from an environment record.
 * @throws ConfigError naming the first variable that is missing or wrong.
 */
export function parseConfig(env: EnvRecord, options: ConfigOptions = {}): Config {
  const tableName = required(env, ENV.tableName, 'the DynamoDB table name');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigError(ENV.tableName, `not a DynamoDB table name: ${JSON.stringify(tableName)}`);
  }
  const emailTopicArn = topicArn(env, ENV.emailTopicArn, 'the e-mail SNS topic ARN');
  const chatTopicArn = topicArn(env, ENV.chatTopicArn, 'the chat SNS topic ARN', true);
  const decisionKeyId = keyArn(env, ENV.decisionKeyId, "the decision links' KMS HMAC key ARN");
  const revokeKeyId = keyArn(env, ENV.revokeKeyId, "the revoke links' KMS HMAC key ARN", true);
  const approvalUrl = url(env, ENV.approvalUrl, options.approvalUrl === 'optional');
  const retiringPrincipal = required(env, ENV.retiringPrincipal, "the approval function's role ARN");
  if (parseRoleArn(retiringPrincipal) === null) {
    throw new ConfigError(
      ENV.retiringPrincipal,
      `expected a role ARN, got ${JSON.stringify(retiringPrincipal)}`,
    );
  }

  const modeText = text(env, ENV.mode) ?? SETTINGS.mode.default;
  if (!isOneOf(MODES, modeText)) {
    throw new ConfigError(ENV.mode, `expected ${MODES.join(' or ')}, got ${JSON.stringify(modeText)}`);
  }
  const autoApplyPrincipals = list(env, ENV.autoApplyPrincipals) ?? [];
  for (const pattern of autoApplyPrincipals) {
    if (principalPatternKind(pattern) === undefined) {
      throw new ConfigError(
        ENV.autoApplyPrincipals,
        `expected ARN patterns (arn:aws:iam::ACCOUNT:role/NAME, * and ? allowed), got ${JSON.stringify(pattern)}`,
      );
    }
  }
  const preferMechanism = mechanism(
    ENV.preferMechanism,
    text(env, ENV.preferMechanism) ?? SETTINGS.preferMechanism.default,
  );
  const enabled = list(env, ENV.enabledMechanisms);
  const enabledMechanisms =
    enabled === undefined
      ? [...SETTINGS.enabledMechanisms.default]
      : [...new Set(enabled.map((m) => mechanism(ENV.enabledMechanisms, m)))];
  if (enabledMechanisms.length === 0) throw new ConfigError(ENV.enabledMechanisms, 'names no mechanism');

  const cloudFormation =
    text(env, ENV.autoApplyCloudFormation) ?? String(SETTINGS.autoApplyCloudFormation.default);
  if (cloudFormation !== 'true' && cloudFormation !== 'false') {
    throw new ConfigError(
      ENV.autoApplyCloudFormation,
      `expected true or false, got ${JSON.stringify(cloudFormation)}`,
    );
  }

  let notificationRoutes: NotificationRoute[];
  try {
    notificationRoutes = parseRoutes(text(env, ENV.notificationRoutes) ?? '', emailTopicArn);
  } catch (error) {
    throw new ConfigError(ENV.notificationRoutes, (error as Error).message);
  }

  const organizationId = text(env, ENV.organizationId);
  if (organizationId !== undefined && !/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    throw new ConfigError(
      ENV.organizationId,
      `expected an organization id like o-a1b2c3d4e5, got ${JSON.stringify(organizationId)}`,
    );
  }

  return {
    tableName,
    emailTopicArn,
    chatTopicArn,
    decisionKeyId,
    revokeKeyId,
    approvalUrl,
    mode: modeText,
    autoApplyPrincipals,
    preferMechanism,
    linkTtlHours: wholeNumber(env, SETTINGS.linkTtlHours),
    autoApplyHourlyLimit: wholeNumber(env, SETTINGS.autoApplyHourlyLimit),
    autoApplyCloudFormation: cloudFormation === 'true',
    enabledMechanisms,
    rejectSuppressHours: wholeNumber(env, SETTINGS.rejectSuppressHours),
    retiringPrincipal,
    notificationRoutes,
    ...(organizationId === undefined ? {} : { organizationId }),
  };
}
