/** Builds keymend's stack for the infra tests: no bundling and no built-in validation unless asked. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, type PolicyStatementProps } from 'aws-cdk-lib/aws-iam';
import type { KeymendRemediationProps } from '../../infra/keymend-remediation';
import { KeymendStack } from '../../infra/keymend-stack';

export interface SynthOptions {
  /** Bundle the functions with esbuild, as `cdk synth` does (slow). */
  bundle?: boolean;
  /** Keep aws-cdk-lib's built-in CloudFormation template validation on. */
  validation?: boolean;
  context?: Record<string, unknown>;
}

/** The feature flags and context of cdk.json, so the tests synthesize what `cdk synth` does. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8'),
).context;

export function newApp(options: SynthOptions = {}): App {
  return new App({
    builtinCloudFormationValidation: options.validation ?? false,
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

export function synth(remediation: KeymendRemediationProps = {}, options: SynthOptions = {}) {
  const app = newApp(options);
  const stack = new KeymendStack(app, 'Test', { remediation });
  const template = Template.fromStack(stack);
  return { app, stack, template };
}

export type Statement = Record<string, unknown> & { Sid?: string; Action: string | string[] };

/** The statements of the policy attached to a function's role, as synthesized. */
export function roleStatements(
  stack: KeymendStack,
  template: Template,
  fn: 'remediateFunction' | 'approvalFunction',
): Statement[] {
  const role = stack.remediation[fn].role;
  if (role === undefined) throw new Error('no role');
  const roleId = stack.getLogicalId(role.node.defaultChild as CfnElement);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId),
  );
  if (policies.length !== 1) throw new Error(`expected one policy on ${fn}, found ${policies.length}`);
  return policies[0]?.Properties.PolicyDocument.Statement.map(normalized);
}

/** A statement with its Action and Resource lists in one order (policy minimization reorders them). */
function normalized(statement: Statement): Statement {
  const sort = (value: unknown) =>
    Array.isArray(value)
      ? [...value].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
      : value;
  return {
    ...statement,
    Action: sort(statement.Action) as Statement['Action'],
    Resource: sort(statement.Resource),
  };
}

/** What a statement from infra/iam.ts looks like once synthesized into `stack`. */
export function synthesized(stack: KeymendStack, props: PolicyStatementProps): Statement {
  return normalized(stack.resolve(new PolicyStatement(props).toStatementJson()));
}

/** Every action the statements allow, flattened (Deny statements take power away: left out). */
export function actionsOf(statements: Statement[]): string[] {
  return statements
    .filter((s) => s.Effect !== 'Deny')
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}
