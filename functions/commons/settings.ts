/**
 * keymend's settings, defined once: each one's environment variable, default and range, and the
 * values some of them take (modes, mechanisms). Read by the functions' configuration
 * (functions/core/config.ts, which parses the environment), by the CDK construct (its props'
 * defaults and checks, and the environment it gives the functions) and by the `-c` context parser
 * (infra/context.ts), so the three cannot drift apart. Node builtins only: infra/ imports this file.
 */
import { parseTopicArn, TOPIC_NAME } from './arn';
import { ENV } from './constants';

/** `propose` stores a proposal and asks a person; `auto` may apply allow-listed fixes itself. */
export const MODES = ['propose', 'auto'] as const;
export type Mode = (typeof MODES)[number];

/** The fix mechanisms keymend knows, in the order it tries them after the preferred one. */
export const MECHANISMS = ['kms-grant', 'iam-inline-policy', 'key-policy-statement'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

/** A setting that is a whole number, with its range. */
export interface WholeNumberSetting {
  env: string;
  default: number;
  min: number;
  max: number;
}

/** The settings the functions read from their environment, with a default (the rest are required). */
export const SETTINGS = {
  mode: { env: ENV.mode, default: 'propose' as Mode },
  preferMechanism: { env: ENV.preferMechanism, default: 'kms-grant' as Mechanism },
  /**
   * How long approval links work. 720 hours (30 days) at most: a link that lives longer is a
   * standing approval, not a decision.
   */
  linkTtlHours: { env: ENV.linkTtlHours, default: 72, min: 1, max: 720 },
  autoApplyHourlyLimit: { env: ENV.autoApplyHourlyLimit, default: 10, min: 1, max: 10_000 },
  autoApplyCloudFormation: { env: ENV.autoApplyCloudFormation, default: false },
  /** Grants only, unless a deployment enables more (and gives keymend's role the power to write them). */
  enabledMechanisms: { env: ENV.enabledMechanisms, default: ['kms-grant'] as readonly Mechanism[] },
  /** How long a rejected problem stays quiet: seven days by default, a year (8,784 hours) at most. */
  rejectSuppressHours: { env: ENV.rejectSuppressHours, default: 168, min: 1, max: 24 * 366 },
} as const satisfies Record<string, { env: string; default: unknown; min?: number; max?: number }>;

/** True when `value` is a whole number within the setting's range. */
export function inRange(setting: WholeNumberSetting, value: number): boolean {
  return Number.isInteger(value) && value >= setting.min && value <= setting.max;
}

/** True when `value` is one of `values` (a mode, a mechanism), typed as such. */
export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}

/** An e-mail address as a notification subscription takes it (no spaces, no commas). */
export const EMAIL_ADDRESS = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/**
 * Notification routes (issue 25): which topic gets the e-mails of a problem, by the account it is in
 * or an organizational unit above that account. The key is a 12-digit account id or an OU id
 * (`ou-...`); the topic is an SNS topic ARN (a topic that exists) or a name (a topic the stack
 * creates). Order matters only among OUs: the first OU route that holds the account wins; an account's
 * own route wins over every OU's.
 */
export const ROUTES = {
  /** An account id. */
  account: /^\d{12}$/,
  /** An organizational unit id, as AWS Organizations writes them. */
  organizationalUnit: /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/,
  /**
   * At most this many routes, and this many characters in the functions' environment: Lambda allows
   * 4 KB of environment in all, and the rest of keymend's takes about 1.5 KB.
   */
  maxRoutes: 100,
  maxEnvironmentLength: 2048,
} as const;

/** One route: the account or OU id, and the topic (an ARN, or a name the deployment creates). */
export interface NotificationRouteSetting {
  key: string;
  topic: string;
}

/** Why `key` is not a route key (an account id or an OU id), or undefined when it is one. */
export function routeKeyProblem(key: string): string | undefined {
  if (ROUTES.account.test(key) || ROUTES.organizationalUnit.test(key)) return undefined;
  if (/^\d+$/.test(key)) return `'${key}' is not an account id: account ids have 12 digits`;
  if (key.startsWith('r-'))
    return `'${key}' is the organization's root: use the default topic for every account`;
  return `'${key}' is neither a 12-digit account id nor an OU id like ou-ab12-cdefgh34`;
}

/**
 * Why `topic` is not a route's topic, or undefined when it is one: a standard topic's ARN (in
 * `region` when given: SNS publishes within the topic's Region) or a standard topic's name.
 */
export function routeTopicProblem(topic: string, region?: string): string | undefined {
  if (isTopicName(topic)) return undefined;
  const arn = parseTopicArn(topic);
  if (arn === null) {
    return topic.includes(':')
      ? `'${topic}' is not a standard SNS topic ARN (FIFO topics cannot send e-mail)`
      : `'${topic}' is neither a topic ARN nor a topic name (up to 256 letters, digits, - and _; no .fifo)`;
  }
  if (region !== undefined && arn.region !== region) {
    return `'${topic}' is in ${arn.region}: keymend publishes from ${region}, the Region of its functions`;
  }
  return undefined;
}

/** Why a route (`key` to `topic`) cannot be deployed: its key's problem, else its topic's; undefined when none. */
export function routeProblem(key: string, topic: string, region?: string): string | undefined {
  return routeKeyProblem(key) ?? routeTopicProblem(topic, region);
}

/**
 * Why a list of routes cannot be deployed as a whole (more than ROUTES.maxRoutes, or longer than
 * ROUTES.maxEnvironmentLength in the functions' environment), or undefined when it can.
 */
export function routeListProblem(routes: readonly NotificationRouteSetting[]): string | undefined {
  if (routes.length > ROUTES.maxRoutes) return `holds ${routes.length} routes: at most ${ROUTES.maxRoutes}`;
  const length = routesEnvironment(routes).length;
  if (length > ROUTES.maxEnvironmentLength) {
    return `takes ${length} characters of the functions' environment, over ${ROUTES.maxEnvironmentLength} (Lambda allows 4 KB in all): route OUs rather than accounts, or name topics rather than give ARNs`;
  }
  return undefined;
}

/** True when a route's topic is a name (a topic the deployment creates), not an ARN. */
export function isTopicName(topic: string): boolean {
  return TOPIC_NAME.test(topic);
}

/**
 * The routes as the functions' environment carries them: `KEY=TOPIC,KEY=TOPIC` (ARNs and names hold no
 * `=` or `,`). Topics that are CDK tokens are left as they are.
 */
export function routesEnvironment(routes: readonly NotificationRouteSetting[]): string {
  return routes.map((route) => `${route.key}=${route.topic}`).join(',');
}
