/**
 * Verdicts that turn on something keymend cannot know. Two sources, each checked by evaluating the
 * request more than one way and comparing the decisions:
 *
 * - Forward access sessions: AWS does not say whether Kinesis calls KMS in one (which sets
 *   aws:ViaAWSService and aws:CalledVia*), so the call is evaluated with and without them.
 * - Unknowable keys (aws:SourceIp, aws:SourceVpce, ..., and keys whose source keymend cannot see): every
 *   statement that tests one is evaluated both as matching and as not matching, once leaning every such
 *   statement toward allowing (Allows match, Denies do not) and once toward denying.
 *
 * When the decisions differ, the verdict is uncertain: diagnose refuses and shows every answer. Pure.
 */
import {
  type AuthorizationRequest,
  type DecidedBy,
  type Decision,
  type EvaluationResult,
  evaluate,
} from '../policy';
import {
  isOrganizationPolicy,
  type KeyState,
  type OrganizationState,
  organizationPolicyDocument,
  organizationPolicyLabel,
  type PolicyDocumentJson,
  type PrincipalState,
} from './account';
import { buildPolicySet } from './authorization';
import { ALWAYS_UNKNOWN, FORWARD_ACCESS_SESSION_KEYS } from './context-keys';

/** One way of reading what keymend cannot know, and the decision it gives. */
export interface Answer {
  assumption: string;
  decision: Decision;
  decidedBy: DecidedBy[];
}

export interface Uncertainty {
  code: 'forward-access-session-uncertain' | 'unknowable-condition';
  /** The condition keys (as the policies write them) that the verdict turns on. */
  keys: string[];
  /** The statements that test them. */
  statements: DecidedBy[];
  /** Every answer, at least two, with different verdicts (decisions, or the layers an implicit deny names). */
  answers: Answer[];
}

export interface UncertaintyInput {
  principal: PrincipalState;
  key: KeyState;
  organization: OrganizationState | null;
  resourceAccountId: string;
  organizationAccountId: string;
  /** The request AWS would evaluate, outside and inside a forward access session. */
  request: (forwardAccessSession: boolean) => { request: AuthorizationRequest; unknown: string[] };
  /**
   * Evaluates a request against the input's own policies, when the caller has them compiled already;
   * by default they are compiled here.
   */
  evaluate?: (request: AuthorizationRequest) => EvaluationResult;
}

/**
 * The first uncertainty found (forward access sessions first), or null when every reading gives the
 * same decision. Throws PolicyParseError for a malformed policy, as diagnose's own evaluation would.
 */
export function findUncertainty(input: UncertaintyInput): Uncertainty | null {
  const direct = input.request(false);
  const forwarded = input.request(true).request;
  const run = input.evaluate ?? evaluatorOf(input);
  const outside = run(direct.request);
  const inside = run(forwarded);
  if (verdictOf(outside) !== verdictOf(inside)) {
    const answers: Answer[] = [
      {
        assumption: "Kinesis calls KMS with the caller's own credentials (no forward access session)",
        ...outside,
      },
      {
        assumption:
          'Kinesis calls KMS in a forward access session (aws:ViaAWSService true, aws:CalledVia kinesis.amazonaws.com)',
        ...inside,
      },
    ];
    const found = deciding(testedStatements(input, matcher(FORWARD_ACCESS_SESSION_KEYS)), answers);
    return { code: 'forward-access-session-uncertain', ...found, answers };
  }

  const isUnknown = matcher([...ALWAYS_UNKNOWN, ...direct.unknown]);
  const tested = testedStatements(input, isUnknown);
  if (tested.length === 0) return null;
  const lean = (toward: Lean) =>
    evaluate(
      direct.request,
      buildPolicySet({
        principal: leanPrincipal(input.principal, isUnknown, toward),
        key: { ...input.key, policy: leanDocument(input.key.policy, isUnknown, toward) },
        organization: leanOrganization(input.organization, isUnknown, toward),
        resourceAccountId: input.resourceAccountId,
        organizationAccountId: input.organizationAccountId,
      }),
    );
  const allowing = lean('allow');
  const denying = lean('deny');
  if (verdictOf(allowing) === verdictOf(denying)) return null;
  const found = deciding(
    tested,
    [allowing, denying].map((r) => ({ assumption: '', ...r })),
  );
  const keys = found.keys.join(', ');
  return {
    code: 'unknowable-condition',
    ...found,
    answers: [
      { assumption: `the conditions on ${keys} favour the caller`, ...allowing },
      { assumption: `the conditions on ${keys} go against the caller`, ...denying },
    ],
  };
}

function evaluatorOf(input: UncertaintyInput): (request: AuthorizationRequest) => EvaluationResult {
  const policies = buildPolicySet({
    principal: input.principal,
    key: input.key,
    organization: input.organization,
    resourceAccountId: input.resourceAccountId,
    organizationAccountId: input.organizationAccountId,
  });
  return (request) => evaluate(request, policies);
}

type Lean = 'allow' | 'deny';

/**
 * What diagnose's verdict turns on: the decision and, for an implicit deny, the layers that lack an
 * allow (an SCP gap that a condition could close is not the identity gap that a grant closes).
 */
function verdictOf(result: EvaluationResult): string {
  if (result.decision !== 'implicit-deny') return result.decision;
  const layers = new Set(result.decidedBy.filter((d) => d.statement === '').map((d) => d.policyType));
  return `implicit-deny:${[...layers].sort().join(',')}`;
}

/** A test of lowercased key names against names and `prefix/` entries. */
function matcher(names: readonly string[]): (key: string) => boolean {
  const exact = new Set(names.filter((n) => !n.endsWith('/')));
  const prefixes = names.filter((n) => n.endsWith('/'));
  return (key) => {
    const k = key.toLowerCase();
    return exact.has(k) || prefixes.some((p) => k.startsWith(p));
  };
}

interface Named {
  name: string;
  layer: DecidedBy['policyType'];
  document: PolicyDocumentJson;
}

/** Every document of the input with the name and layer buildPolicySet gives it. */
function documentsOf(input: UncertaintyInput): Named[] {
  const out: Named[] = [];
  const p = input.principal;
  for (const [name, document] of Object.entries(p.inlinePolicies))
    out.push({ name, layer: 'identity-based', document });
  for (const [name, document] of Object.entries(p.managedPolicies))
    out.push({ name, layer: 'identity-based', document });
  if (p.permissionsBoundary !== undefined && p.permissionsBoundary !== null) {
    out.push({
      name: 'permissions-boundary',
      layer: 'permissions-boundary',
      document: p.permissionsBoundary,
    });
  }
  out.push({ name: 'key-policy', layer: 'resource-based', document: input.key.policy });
  const org = input.organization;
  const levels = [
    ['service-control-policies', 'service-control', org?.serviceControlPolicies],
    ['resource-control-policies', 'resource-control', org?.resourceControlPolicies],
  ] as const;
  for (const [prefix, layer, policies] of levels) {
    for (const [l, level] of (policies ?? []).entries()) {
      for (const [i, entry] of level.entries()) {
        const name = organizationPolicyLabel(entry, `${prefix}[${l}][${i}]`);
        out.push({ name, layer, document: organizationPolicyDocument(entry) });
      }
    }
  }
  return out;
}

interface Tested {
  by: DecidedBy;
  /** The keys `isKey` picked, as the statement writes them. */
  keys: string[];
}

/** Every statement that tests a key `isKey` picks. */
function testedStatements(input: UncertaintyInput, isKey: (key: string) => boolean): Tested[] {
  const out: Tested[] = [];
  for (const { name, layer, document } of documentsOf(input)) {
    statementsOf(document).forEach((statement, index) => {
      const keys = conditionKeys(statement).filter(isKey);
      if (keys.length === 0) return;
      const sid =
        isObject(statement) && typeof statement.Sid === 'string' && statement.Sid !== ''
          ? statement.Sid
          : String(index);
      out.push({ by: { policyType: layer, policy: name, statement: sid }, keys });
    });
  }
  return out;
}

/**
 * The tested statements that decided one of the answers (an explicit deny's or an allow's statements),
 * or all of them when none did (an implicit deny names layers, not statements), and their keys.
 */
function deciding(tested: readonly Tested[], answers: readonly Answer[]) {
  const decided = (t: Tested) =>
    answers.some((a) =>
      a.decidedBy.some(
        (d) => d.policyType === t.by.policyType && d.policy === t.by.policy && d.statement === t.by.statement,
      ),
    );
  const picked = tested.some(decided) ? tested.filter(decided) : tested;
  return { keys: [...new Set(picked.flatMap((t) => t.keys))], statements: picked.map((t) => t.by) };
}

function statementsOf(document: PolicyDocumentJson): unknown[] {
  if (!isObject(document)) return [];
  const s = document.Statement;
  if (Array.isArray(s)) return s;
  return s === undefined ? [] : [s];
}

function conditionKeys(statement: unknown): string[] {
  if (!isObject(statement) || !isObject(statement.Condition)) return [];
  const out: string[] = [];
  for (const block of Object.values(statement.Condition))
    if (isObject(block)) out.push(...Object.keys(block));
  return out;
}

/**
 * `document` with every statement that tests an unknown key resolved toward `toward`: a statement whose
 * effect helps that way keeps only its other conditions (the unknown ones hold); one whose effect works
 * against it is dropped (they fail). The document itself when no statement tests one.
 */
export function leanDocument(
  document: PolicyDocumentJson,
  isUnknown: (key: string) => boolean,
  toward: Lean,
): PolicyDocumentJson {
  if (!isObject(document)) return document;
  const statements = statementsOf(document);
  if (!statements.some((s) => conditionKeys(s).some(isUnknown))) return document;
  const kept: unknown[] = [];
  for (const statement of statements) {
    if (!isObject(statement) || !conditionKeys(statement).some(isUnknown)) {
      kept.push(statement);
      continue;
    }
    const helps = (statement.Effect === 'Allow') === (toward === 'allow');
    if (!helps) continue;
    const condition: Record<string, unknown> = {};
    for (const [operator, block] of Object.entries(statement.Condition as Record<string, unknown>)) {
      if (!isObject(block)) {
        condition[operator] = block;
        continue;
      }
      const rest = Object.fromEntries(Object.entries(block).filter(([k]) => !isUnknown(k)));
      if (Object.keys(rest).length > 0) condition[operator] = rest;
    }
    const { Condition: _dropped, ...withoutCondition } = statement;
    kept.push(
      Object.keys(condition).length > 0 ? { ...withoutCondition, Condition: condition } : withoutCondition,
    );
  }
  return { ...document, Statement: kept };
}

function leanPrincipal(
  principal: PrincipalState,
  isUnknown: (key: string) => boolean,
  toward: Lean,
): PrincipalState {
  const lean = (docs: Record<string, PolicyDocumentJson>) =>
    Object.fromEntries(
      Object.entries(docs).map(([name, doc]) => [name, leanDocument(doc, isUnknown, toward)]),
    );
  const out: PrincipalState = {
    ...principal,
    inlinePolicies: lean(principal.inlinePolicies),
    managedPolicies: lean(principal.managedPolicies),
  };
  if (principal.permissionsBoundary !== undefined && principal.permissionsBoundary !== null) {
    out.permissionsBoundary = leanDocument(principal.permissionsBoundary, isUnknown, toward);
  }
  return out;
}

function leanOrganization(
  organization: OrganizationState | null,
  isUnknown: (key: string) => boolean,
  toward: Lean,
): OrganizationState | null {
  if (organization === null) return null;
  const lean = (levels: OrganizationState['serviceControlPolicies']) =>
    levels?.map((level) =>
      level.map((entry) =>
        isOrganizationPolicy(entry)
          ? { ...entry, document: leanDocument(entry.document, isUnknown, toward) }
          : leanDocument(entry, isUnknown, toward),
      ),
    );
  const out: OrganizationState = { ...organization };
  if (organization.serviceControlPolicies)
    out.serviceControlPolicies = lean(organization.serviceControlPolicies);
  if (organization.resourceControlPolicies)
    out.resourceControlPolicies = lean(organization.resourceControlPolicies);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
