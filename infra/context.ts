/**
 * The `-c key=value` context `infra/app.ts` reads, parsed and checked. Values come as strings from
 * the command line and as JSON values from cdk.json: both are accepted. A bad value throws an error
 * naming its key.
 */
import {
  parseSecretArn,
  parseTopicArn,
  principalPatternKind,
  unsafePrincipalPattern,
} from '../functions/commons/arn';
import {
  EMAIL_ADDRESS,
  inRange,
  isOneOf,
  MECHANISMS,
  MODES,
  type NotificationRouteSetting,
  routeListProblem,
  routeProblem,
  SETTINGS,
} from '../functions/commons/settings';
import type { OrganizationProps } from './keymend-hub';
import type { KeymendRemediationProps } from './keymend-remediation';

/** The context keys, named exactly so. */
export const CONTEXT_KEYS = [
  'notificationEmail',
  'chatTopicArn',
  'mode',
  'autoApplyPrincipals',
  'preferMechanism',
  'linkTtlHours',
  'createTrail',
  'regions',
  'enableInlinePolicy',
  'enableKeyPolicyChanges',
  'reservedConcurrency',
  'oidcIssuer',
  'oidcClientId',
  'oidcClientSecretArn',
  'approverEmails',
  'approverGroups',
  'oidcGroupsClaim',
  'deployment',
  'organizationId',
  'organizationTargets',
  'stackSetFailureTolerance',
  'stackSetMaxConcurrent',
  'stackSetCallAs',
  'notificationRoutes',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

export class ContextError extends Error {
  override readonly name = 'ContextError';
  constructor(
    readonly key: ContextKey,
    why: string,
  ) {
    super(`context key '${key}': ${why}`);
  }
}

export interface KeymendAppConfig {
  /** One stack per Region; empty for one environment-agnostic stack. */
  regions: string[];
  remediation: KeymendRemediationProps;
  /** With `deployment=organization`: the hub's organization bus and member StackSet. */
  organization?: OrganizationProps;
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** A list from a comma-separated string or a JSON array of strings; blanks dropped. */
function list(key: ContextKey, value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (items === undefined || items.some((item) => typeof item !== 'string')) {
    throw new ContextError(key, 'expected a comma-separated list of strings');
  }
  return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
}

function text(key: ContextKey, value: unknown): string {
  if (typeof value !== 'string') throw new ContextError(key, 'expected a string');
  return value.trim();
}

function flag(key: ContextKey, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ContextError(key, `expected true or false, not '${String(value)}'`);
}

/**
 * Parses the context; `get` is `app.node.tryGetContext`. Absent (or empty) keys take the construct's
 * documented defaults.
 */
export function parseContext(get: (key: string) => unknown): KeymendAppConfig {
  const present = (key: ContextKey): unknown => {
    const value = get(key);
    return value === undefined || value === null || value === '' ? undefined : value;
  };
  const remediation: {
    -readonly [K in keyof KeymendRemediationProps]: KeymendRemediationProps[K];
  } = {};

  const emails = present('notificationEmail');
  if (emails !== undefined) {
    const parsed = list('notificationEmail', emails);
    for (const email of parsed) {
      if (!EMAIL_ADDRESS.test(email))
        throw new ContextError('notificationEmail', `'${email}' is not an e-mail address`);
    }
    if (parsed.length > 0) remediation.notificationEmails = parsed;
  }

  const chat = present('chatTopicArn');
  if (chat !== undefined) {
    const arn = text('chatTopicArn', chat);
    if (parseTopicArn(arn) === null)
      throw new ContextError('chatTopicArn', `'${arn}' is not an SNS topic ARN`);
    remediation.chatTopicArn = arn;
  }

  const mode = present('mode');
  if (mode !== undefined) {
    const value = text('mode', mode);
    if (!isOneOf(MODES, value)) {
      throw new ContextError('mode', `expected ${MODES.map((m) => `'${m}'`).join(' or ')}, not '${value}'`);
    }
    remediation.mode = value;
  }

  const principals = present('autoApplyPrincipals');
  if (principals !== undefined) {
    const parsed = list('autoApplyPrincipals', principals);
    for (const pattern of parsed) {
      if (principalPatternKind(pattern) === undefined) {
        throw new ContextError(
          'autoApplyPrincipals',
          `'${pattern}' is not a role or user ARN pattern (arn:aws:iam::ACCOUNT:role/NAME, * and ? allowed)`,
        );
      }
      const unsafe = unsafePrincipalPattern(pattern);
      if (unsafe !== undefined) throw new ContextError('autoApplyPrincipals', `'${pattern}': ${unsafe}`);
    }
    if (parsed.length > 0) remediation.autoApplyPrincipals = parsed;
  }

  const prefer = present('preferMechanism');
  if (prefer !== undefined) {
    const value = text('preferMechanism', prefer);
    if (!isOneOf(MECHANISMS, value)) {
      throw new ContextError('preferMechanism', `expected one of ${MECHANISMS.join(', ')}, not '${value}'`);
    }
    remediation.preferMechanism = value;
  }

  const ttl = present('linkTtlHours');
  if (ttl !== undefined) {
    const value = typeof ttl === 'number' ? ttl : /^\d+$/.test(String(ttl).trim()) ? Number(ttl) : Number.NaN;
    const { min, max } = SETTINGS.linkTtlHours;
    if (!inRange(SETTINGS.linkTtlHours, value)) {
      throw new ContextError(
        'linkTtlHours',
        `expected a whole number of hours from ${min} to ${max}, not '${String(ttl)}'`,
      );
    }
    remediation.linkTtlHours = value;
  }

  const trail = present('createTrail');
  if (trail !== undefined) remediation.createTrail = flag('createTrail', trail);
  const inline = present('enableInlinePolicy');
  if (inline !== undefined) remediation.enableInlinePolicy = flag('enableInlinePolicy', inline);
  const keyPolicy = present('enableKeyPolicyChanges');
  if (keyPolicy !== undefined) remediation.enableKeyPolicyChanges = flag('enableKeyPolicyChanges', keyPolicy);
  if (remediation.enableInlinePolicy && remediation.autoApplyPrincipals === undefined) {
    throw new ContextError(
      'enableInlinePolicy',
      'needs autoApplyPrincipals: inline policies are written only on the roles and users it names',
    );
  }

  const reserved = present('reservedConcurrency');
  if (reserved !== undefined) {
    const value =
      typeof reserved === 'number'
        ? reserved
        : /^\d+$/.test(String(reserved).trim())
          ? Number(reserved)
          : Number.NaN;
    if (!Number.isInteger(value) || value < 0 || value > 1000) {
      throw new ContextError(
        'reservedConcurrency',
        `expected a whole number from 0 (reserve none) to 1000, not '${String(reserved)}'`,
      );
    }
    remediation.reservedConcurrency = value;
  }

  // Sign-in for approvals: the issuer turns it on; then the client and who may approve are required.
  const issuer = present('oidcIssuer');
  const signInKeys = [
    'oidcClientId',
    'oidcClientSecretArn',
    'approverEmails',
    'approverGroups',
    'oidcGroupsClaim',
  ] as const;
  if (issuer === undefined) {
    const stray = signInKeys.find((key) => present(key) !== undefined);
    if (stray)
      throw new ContextError(stray, "needs oidcIssuer: sign-in is turned on by the provider's issuer URL");
  } else {
    const issuerUrl = text('oidcIssuer', issuer);
    if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(issuerUrl)) {
      throw new ContextError('oidcIssuer', `expected the provider's https issuer URL, not '${issuerUrl}'`);
    }
    const clientId = present('oidcClientId');
    if (clientId === undefined) throw new ContextError('oidcClientId', 'is required with oidcIssuer');
    const secret = present('oidcClientSecretArn');
    if (secret === undefined) throw new ContextError('oidcClientSecretArn', 'is required with oidcIssuer');
    const secretArn = text('oidcClientSecretArn', secret);
    if (parseSecretArn(secretArn) === null) {
      throw new ContextError('oidcClientSecretArn', `'${secretArn}' is not a Secrets Manager secret ARN`);
    }
    const approverEmails =
      present('approverEmails') === undefined ? [] : list('approverEmails', present('approverEmails'));
    for (const email of approverEmails) {
      if (!EMAIL_ADDRESS.test(email))
        throw new ContextError('approverEmails', `'${email}' is not an e-mail address`);
    }
    const approverGroups =
      present('approverGroups') === undefined ? [] : list('approverGroups', present('approverGroups'));
    if (approverEmails.length === 0 && approverGroups.length === 0) {
      throw new ContextError(
        'approverEmails',
        'or approverGroups must name who may approve once sign-in is on',
      );
    }
    const groupsClaim = present('oidcGroupsClaim');
    remediation.signIn = {
      issuer: issuerUrl,
      clientId: text('oidcClientId', clientId),
      clientSecretArn: secretArn,
      ...(approverEmails.length > 0 ? { approverEmails } : {}),
      ...(approverGroups.length > 0 ? { approverGroups } : {}),
      ...(groupsClaim !== undefined ? { groupsClaim: text('oidcGroupsClaim', groupsClaim) } : {}),
    };
  }

  const regionsValue = present('regions');
  const regions = regionsValue === undefined ? [] : list('regions', regionsValue);
  for (const region of regions) {
    if (!REGION.test(region))
      throw new ContextError('regions', `'${region}' is not a Region name like us-east-1`);
  }
  if (new Set(regions).size !== regions.length) throw new ContextError('regions', 'lists a Region twice');

  const organization = parseOrganization(present, regions);
  const routes = present('notificationRoutes');
  if (routes !== undefined) {
    if (organization === undefined) {
      throw new ContextError(
        'notificationRoutes',
        "needs deployment=organization: routes send member accounts' and OUs' e-mails to their teams' topics",
      );
    }
    const parsed = parseRoutes(routes, organization.regions[0] as string);
    if (parsed.length > 0) remediation.notificationRoutes = parsed;
  }
  if (organization === undefined) return { regions, remediation };
  if (remediation.createTrail) {
    throw new ContextError(
      'createTrail',
      'is for one account: an organization deployment reads the organization trail the management account keeps',
    );
  }
  return { regions, remediation, organization };
}

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ORGANIZATION_TARGET = /^(?:r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;
const ORGANIZATION_KEYS = [
  'organizationId',
  'organizationTargets',
  'stackSetFailureTolerance',
  'stackSetMaxConcurrent',
  'stackSetCallAs',
] as const;

function percentage(key: ContextKey, value: unknown, min: number): number {
  const parsed =
    typeof value === 'number' ? value : /^\d+$/.test(String(value).trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > 100) {
    throw new ContextError(key, `expected a whole percentage from ${min} to 100, not '${String(value)}'`);
  }
  return parsed;
}

/** `deployment=organization` and its keys; undefined for the single-account deployment. */
function parseOrganization(
  present: (key: ContextKey) => unknown,
  regions: string[],
): OrganizationProps | undefined {
  const deployment = present('deployment');
  const kind = deployment === undefined ? 'account' : text('deployment', deployment);
  if (kind !== 'account' && kind !== 'organization') {
    throw new ContextError('deployment', `expected 'account' or 'organization', not '${kind}'`);
  }
  if (kind === 'account') {
    const stray = ORGANIZATION_KEYS.find((key) => present(key) !== undefined);
    if (stray) throw new ContextError(stray, 'needs deployment=organization');
    return undefined;
  }
  const idValue = present('organizationId');
  if (idValue === undefined)
    throw new ContextError('organizationId', 'is required with deployment=organization');
  const organizationId = text('organizationId', idValue);
  if (!ORGANIZATION_ID.test(organizationId)) {
    throw new ContextError(
      'organizationId',
      `'${organizationId}' is not an organization id like o-a1b2c3d4e5`,
    );
  }
  const targetsValue = present('organizationTargets');
  if (targetsValue === undefined) {
    throw new ContextError(
      'organizationTargets',
      'is required with deployment=organization: the root id (r-...) or the OU ids (ou-...) to deploy to',
    );
  }
  const targets = list('organizationTargets', targetsValue);
  if (targets.length === 0) throw new ContextError('organizationTargets', 'names no root or OU');
  for (const target of targets) {
    if (!ORGANIZATION_TARGET.test(target)) {
      throw new ContextError(
        'organizationTargets',
        `'${target}' is not a root id (r-...) or an OU id (ou-...)`,
      );
    }
  }
  if (targets.some((t) => t.startsWith('r-')) && targets.length > 1) {
    throw new ContextError('organizationTargets', 'names the root and OUs: the root already holds every OU');
  }
  if (regions.length === 0) {
    throw new ContextError(
      'regions',
      'is required with deployment=organization: the Regions of the member stacks',
    );
  }
  const tolerance = present('stackSetFailureTolerance');
  const concurrent = present('stackSetMaxConcurrent');
  const callAs = present('stackSetCallAs');
  const callAsValue = callAs === undefined ? 'DELEGATED_ADMIN' : text('stackSetCallAs', callAs);
  if (callAsValue !== 'SELF' && callAsValue !== 'DELEGATED_ADMIN') {
    throw new ContextError('stackSetCallAs', `expected 'SELF' or 'DELEGATED_ADMIN', not '${callAsValue}'`);
  }
  return {
    organizationId,
    targets,
    regions,
    failureTolerancePercentage:
      tolerance === undefined ? 10 : percentage('stackSetFailureTolerance', tolerance, 0),
    maxConcurrentPercentage:
      concurrent === undefined ? 25 : percentage('stackSetMaxConcurrent', concurrent, 1),
    callAs: callAsValue,
  };
}

/**
 * `notificationRoutes`: account or OU id to topic name or ARN, in order. From cdk.json a JSON object
 * (`{"111122223333": "payments-alerts", "ou-ab12-cdefgh34": "arn:aws:sns:...:data-alerts"}`); from the
 * command line the same JSON, or `KEY=TOPIC,KEY=TOPIC`. Topic ARNs must be in the hub's Region.
 */
function parseRoutes(value: unknown, hubRegion: string): NotificationRouteSetting[] {
  const key = 'notificationRoutes';
  let entries: Array<[string, unknown]>;
  if (typeof value === 'string' && value.trim().startsWith('{')) {
    try {
      return parseRoutes(JSON.parse(value) as unknown, hubRegion);
    } catch (error) {
      if (error instanceof ContextError) throw error;
      throw new ContextError(key, `is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof value === 'string') {
    entries = [];
    for (const item of list(key, value)) {
      const equals = item.indexOf('=');
      if (equals < 0) {
        throw new ContextError(key, `'${item}' is not ACCOUNT=TOPIC or OU=TOPIC`);
      }
      const routeKey = item.slice(0, equals).trim();
      if (entries.some(([seen]) => seen === routeKey))
        throw new ContextError(key, `routes '${routeKey}' twice`);
      entries.push([routeKey, item.slice(equals + 1).trim()]);
    }
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    entries = Object.entries(value);
  } else {
    throw new ContextError(key, 'expected an object of account or OU ids to topics, or KEY=TOPIC,KEY=TOPIC');
  }
  const routes: NotificationRouteSetting[] = [];
  for (const [routeKey, topic] of entries) {
    if (typeof topic !== 'string') {
      throw new ContextError(
        key,
        `'${routeKey}' routes to ${JSON.stringify(topic)}, not a topic name or ARN`,
      );
    }
    const problem = routeProblem(routeKey, topic.trim(), hubRegion);
    if (problem !== undefined) throw new ContextError(key, problem);
    routes.push({ key: routeKey, topic: topic.trim() });
  }
  const problem = routeListProblem(routes);
  if (problem !== undefined) throw new ContextError(key, problem);
  return routes;
}
