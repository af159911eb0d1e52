/**
 * The fix, shown three ways: a sentence, the exact change as JSON (shortened with a note when a key
 * policy is long, never cut inside the JSON), and the same least-privilege statement as code (CDK
 * TypeScript and CloudFormation YAML) to make the fix permanent.
 */
import { isRegion, parseKeyArn, parsePrincipalArn, parseStreamArn } from '../commons/arn';
import { CLOUDFORMATION_STACK_TAG } from '../commons/constants';
import type { Plan } from '../core/plan';
import type { Proposal } from '../core/proposal';
import { asciiJson, plainValue } from './escape';
import { changeRequest } from './manual';
import { accountOf, aliasSuffix, principalName, streamName } from './names';

/** The plan's JSON is shown whole up to this many characters; past it, only the change itself. */
export const PLAN_JSON_BUDGET = 40_000;

/**
 * One sentence saying what the plan writes, in the tense of the notification (`tried`: an apply that
 * failed).
 */
export function planSentence(plan: Plan, proposal: Proposal, applied: boolean, tried = false): string {
  const sentence = planSentenceOf(plan, proposal, applied);
  return tried ? `The change keymend tried to make: ${sentence}` : sentence;
}

function planSentenceOf(plan: Plan, proposal: Proposal, applied: boolean): string {
  if (plan.mechanism === 'cross-account') {
    return `Across accounts both sides must allow, so two changes, ${applied ? 'made' : 'to be made'} together: 1. in account ${plainValue(accountOf(proposal, plan.keyAccountId))} (the key's owner): ${planSentenceOf(plan.keySide, proposal, applied)} 2. in account ${plainValue(accountOf(proposal, plan.callerAccountId))} (the caller's): ${planSentenceOf(plan.callerSide, proposal, applied)}`;
  }
  const who = principalName(proposal.scope.principalArn);
  const stream = plainValue(streamName(proposal.scope.streamArn));
  const key = `${plainValue(proposal.scope.keyArn)}${plainValue(aliasSuffix(proposal.keyAliases))}`;
  const op = plainValue(proposal.scope.operation);
  const only = `only ${op}, only when Kinesis calls KMS for stream ${stream}`;
  switch (plan.mechanism) {
    case 'kms-grant':
      return `${applied ? 'keymend created' : 'Create'} a KMS grant named ${plainValue(plan.name)} on key ${key} for ${who.kind} ${plainValue(who.name)}: ${only} (its encryption context must name the stream).`;
    case 'iam-inline-policy':
      return `${applied ? 'keymend added' : 'Add'} the inline policy ${plainValue(plan.policyName)} to ${who.kind} ${plainValue(who.name)}: one statement allowing ${only}, on key ${key}.`;
    case 'key-policy-statement':
      return `${applied ? 'keymend added' : 'Add'} one statement (Sid ${plainValue(plan.statement.Sid)}) to the key policy of ${key}, naming ${who.kind} ${plainValue(who.name)}: ${only}. Every existing statement stays as it is.`;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * The change as the request of the API call that makes it (`changeRequest`: CreateGrant, PutRolePolicy,
 * PutKeyPolicy), as JSON, whole when it fits `budget` characters. A key-policy request over it is shown
 * as the added statement only, with a note: the complete new policy is every existing statement
 * unchanged plus this one. Never cut inside the JSON.
 */
export function planJson(
  plan: Plan,
  budget: number = PLAN_JSON_BUDGET,
  extra?: RegExp,
): { api: string; json: string; note: string | null } {
  if (plan.mechanism === 'cross-account') {
    const key = planJson(plan.keySide, budget, extra);
    const caller = planJson(plan.callerSide, budget, extra);
    return {
      api: `${key.api} (account ${plan.keyAccountId}), then ${caller.api} (account ${plan.callerAccountId})`,
      json: `${key.json}\n\n${caller.json}`,
      note: [key.note, caller.note].filter((n) => n !== null).join(' ') || null,
    };
  }
  const { api, request } = changeRequest(plan);
  const whole = asciiJson(request, extra);
  if (whole.length <= budget) return { api, json: whole, note: null };
  if (plan.mechanism === 'key-policy-statement') {
    const statements = plan.document.Statement.length;
    const bytes = Buffer.byteLength(JSON.stringify(plan.document), 'utf8');
    return {
      api,
      json: asciiJson({ KeyId: plan.keyArn, PolicyName: 'default', AddedStatement: plan.statement }, extra),
      note: `Shortened: the new key policy is ${bytes} bytes (${statements} statements), too long to show here. It is every existing statement, unchanged, with the statement above added last; the review page shows it whole.`,
    };
  }
  // Grants and inline policies are a few hundred characters; only a caller's tiny budget gets here.
  return {
    api,
    json: asciiJson({}, extra),
    note: 'Shortened: the change is too long to show here; the review page shows it whole.',
  };
}

/** The stack that manages the principal, from its `aws:cloudformation:stack-name` tag, or null. */
export function managingStack(proposal: Proposal): string | null {
  const stack = proposal.principalTags?.[CLOUDFORMATION_STACK_TAG];
  return typeof stack === 'string' && stack !== '' ? stack : null;
}

/**
 * What a live change means for a principal managed by CloudFormation: an IAM change drifts from the
 * template, a grant does not. Null when the principal carries no stack tag.
 */
export function driftNote(plan: Plan, proposal: Proposal): string | null {
  const stack = managingStack(proposal);
  if (stack === null) return null;
  const who = principalName(proposal.scope.principalArn);
  const managed = `The ${who.kind} ${plainValue(who.name)} is managed by CloudFormation (stack ${plainValue(stack)}).`;
  switch (plan.mechanism) {
    case 'cross-account':
      return `${managed} The inline policy written on the live ${who.kind} in account ${plainValue(plan.callerAccountId)} drifts from the stack's template (drift detection reports it), and so does the key policy in account ${plainValue(plan.keyAccountId)} if the key is managed by CloudFormation: add both statements below to their templates.`;
    case 'kms-grant':
      return `${managed} This fix is a KMS grant: it lives on the key, not on the ${who.kind}, so the ${who.kind} does not drift from its template. To make it permanent, add the statement below to the template and then revoke the grant.`;
    case 'iam-inline-policy':
      return `${managed} An inline policy written on the live ${who.kind} drifts from the stack's template (drift detection reports it, and a stack update that replaces the ${who.kind} drops it). A KMS grant would not drift. Add the statement below to the template.`;
    case 'key-policy-statement':
      return `${managed} The key policy is not part of the ${who.kind}'s template; if the key is managed by CloudFormation too, a live key policy change drifts from that template: add the statement below to it.`;
    default: {
      const unreachable: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A YAML double-quoted scalar (JSON's string syntax, printable ASCII). */
function literal(value: string): string {
  return asciiJson(value);
}

/** A single-quoted TypeScript string literal, printable ASCII. */
function tsLiteral(value: string): string {
  const inner = asciiJson(value).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${inner}'`;
}

/**
 * True when the scope's names are exact ARNs of their kind in one Region, as every scope keymend plans for
 * is: only then are they written into code. (A scope that is not would be event text that never passed the
 * diagnosis; it is shown escaped elsewhere, never as code a person might copy.)
 */
export function scopeIsLiteral(proposal: Proposal): boolean {
  const { scope } = proposal;
  const key = parseKeyArn(scope.keyArn);
  const stream = parseStreamArn(scope.streamArn);
  return (
    parsePrincipalArn(scope.principalArn) !== null &&
    key !== null &&
    stream !== null &&
    isRegion(scope.region) &&
    key.region === scope.region &&
    stream.region === scope.region &&
    /^kms:[A-Za-z]+$/.test(scope.operation)
  );
}

/** The least-privilege statement's parts, as the snippets write them (`quote`: the language's literal). */
function statementParts(proposal: Proposal, quote: (value: string) => string) {
  const { scope } = proposal;
  return {
    action: quote(scope.operation),
    keyArn: quote(scope.keyArn),
    principalArn: quote(scope.principalArn),
    viaService: quote(`kinesis.${scope.region}.amazonaws.com`),
    streamArn: quote(scope.streamArn),
  };
}

/**
 * The fix as CDK TypeScript. For a grant or an inline policy: the identity statement on the principal
 * (one action, the key ARN, StringEquals on kms:ViaService and the stream's encryption context). For a
 * key-policy plan: the same statement in the key's resource policy, naming the principal.
 */
export function cdkSnippet(plan: Plan, proposal: Proposal): string {
  if (plan.mechanism === 'cross-account') {
    return [
      `// In account ${plainValue(plan.keyAccountId)} (the key's owner):`,
      cdkSnippet(plan.keySide, proposal),
      '',
      `// In account ${plainValue(plan.callerAccountId)} (the caller's):`,
      cdkSnippet(plan.callerSide, proposal),
    ].join('\n');
  }
  const p = statementParts(proposal, tsLiteral);
  const who = principalName(proposal.scope.principalArn);
  const conditions = [
    '  conditions: {',
    '    StringEquals: {',
    `      'kms:ViaService': ${p.viaService},`,
    `      'kms:EncryptionContext:aws:kinesis:arn': ${p.streamArn},`,
    '    },',
    '  },',
  ];
  if (plan.mechanism === 'key-policy-statement') {
    return [
      "import * as iam from 'aws-cdk-lib/aws-iam';",
      '',
      `// key: the kms.Key of ${plainValue(proposal.scope.keyArn)}`,
      'key.addToResourcePolicy(new iam.PolicyStatement({',
      `  principals: [new iam.ArnPrincipal(${p.principalArn})],`,
      `  actions: [${p.action}],`,
      "  resources: ['*'],",
      ...conditions,
      '}));',
    ].join('\n');
  }
  const variable = who.kind === 'user' ? 'user' : 'role';
  return [
    "import * as iam from 'aws-cdk-lib/aws-iam';",
    '',
    `// ${variable}: the iam.${who.kind === 'user' ? 'User' : 'Role'} of ${plainValue(proposal.scope.principalArn)}`,
    `${variable}.addToPrincipalPolicy(new iam.PolicyStatement({`,
    `  actions: [${p.action}],`,
    `  resources: [${p.keyArn}],`,
    ...conditions,
    '}));',
  ].join('\n');
}

/** The fix as CloudFormation YAML: the same statement as `cdkSnippet`. */
export function cloudFormationSnippet(plan: Plan, proposal: Proposal): string {
  if (plan.mechanism === 'cross-account') {
    return [
      `# In account ${plainValue(plan.keyAccountId)} (the key's owner):`,
      cloudFormationSnippet(plan.keySide, proposal),
      '',
      `# In account ${plainValue(plan.callerAccountId)} (the caller's):`,
      cloudFormationSnippet(plan.callerSide, proposal),
    ].join('\n');
  }
  const p = statementParts(proposal, literal);
  const who = principalName(proposal.scope.principalArn);
  const condition = [
    '  Condition:',
    '    StringEquals:',
    `      "kms:ViaService": ${p.viaService}`,
    `      "kms:EncryptionContext:aws:kinesis:arn": ${p.streamArn}`,
  ];
  if (plan.mechanism === 'key-policy-statement') {
    return [
      `# Add to the KeyPolicy Statement list of the AWS::KMS::Key of ${plainValue(proposal.scope.keyArn)}`,
      `- Sid: ${literal(plan.statement.Sid)}`,
      '  Effect: Allow',
      '  Principal:',
      `    AWS: ${p.principalArn}`,
      `  Action: ${p.action}`,
      '  Resource: "*"',
      ...condition,
    ].join('\n');
  }
  const user = who.kind === 'user';
  const indent = (lines: string[]) => lines.map((line) => `          ${line}`);
  return [
    `KeymendKinesisKmsPolicy:`,
    `  Type: ${user ? 'AWS::IAM::UserPolicy' : 'AWS::IAM::RolePolicy'}`,
    '  Properties:',
    `    ${user ? 'UserName' : 'RoleName'}: ${literal(who.name)}`,
    `    PolicyName: ${literal(plan.mechanism === 'iam-inline-policy' ? plan.policyName : `keymend-${proposal.scope.operation.replace(/^kms:/, '')}-${streamName(proposal.scope.streamArn)}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 128))}`,
    '    PolicyDocument:',
    '      Version: "2012-10-17"',
    '      Statement:',
    '        - Effect: Allow',
    ...indent([`Action: ${p.action}`, `Resource: ${p.keyArn}`]),
    ...indent(condition.map((line) => line.slice(2))),
  ].join('\n');
}
