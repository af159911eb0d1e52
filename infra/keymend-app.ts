/** The stacks `infra/app.ts` creates from the context: one per Region, or one environment-agnostic. */
import { App } from 'aws-cdk-lib';
import { type KeymendAppConfig, parseContext } from './context';
import { KeymendHubStack } from './keymend-hub';
import { type KeymendMemberProps, KeymendMemberStack } from './keymend-member';
import { KeymendStack } from './keymend-stack';

/**
 * Adds keymend's stacks to `app`: `Keymend-REGION` for each Region in the `regions` context (EventBridge
 * only sees the events of its own Region), else one stack `Keymend` deployed wherever the CLI points.
 * With `createTrail`, only the first Region's stack creates the (multi-Region) trail. With
 * `deployment=organization`: `KeymendHub` in the first Region and `KeymendMember`, the template its
 * StackSet deploys (emitted for review).
 */
export function addKeymendStacks(app: App): KeymendStack[] {
  const config = parseContext((key) => app.node.tryGetContext(key));
  if (config.organization !== undefined) return [addOrganizationStacks(app, config)];
  if (config.regions.length === 0) {
    return [new KeymendStack(app, 'Keymend', { remediation: config.remediation })];
  }
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  return config.regions.map(
    (region, index) =>
      new KeymendStack(app, `Keymend-${region}`, {
        env: account === undefined ? { region } : { account, region },
        remediation: {
          ...config.remediation,
          createTrail: index === 0 && config.remediation.createTrail === true,
        },
      }),
  );
}

/** The member stack's settings from the app's: the same write powers as the hub's functions. */
export function memberProps(config: KeymendAppConfig): KeymendMemberProps {
  const r = config.remediation;
  const regions = config.organization?.regions ?? config.regions;
  return {
    regions,
    iamRegion: regions[0] as string,
    powers: {
      inlinePolicyPrincipals: r.enableInlinePolicy
        ? (r.inlinePolicyPrincipals ?? r.autoApplyPrincipals ?? [])
        : [],
      keyPolicyChanges: r.enableKeyPolicyChanges ?? false,
    },
  };
}

/** The member template as JSON text: synthesized on its own (it has no asset to publish). */
export function memberTemplateBody(props: KeymendMemberProps): string {
  const app = new App();
  new KeymendMemberStack(app, 'KeymendMember', props);
  return JSON.stringify(app.synth().getStackByName('KeymendMember').template);
}

function addOrganizationStacks(app: App, config: KeymendAppConfig): KeymendHubStack {
  const organization = config.organization;
  if (organization === undefined) throw new Error('not an organization deployment');
  const member = memberProps(config);
  new KeymendMemberStack(app, 'KeymendMember', member);
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = organization.regions[0] as string;
  return new KeymendHubStack(app, 'KeymendHub', {
    env: account === undefined ? { region } : { account, region },
    remediation: config.remediation,
    organization,
    memberTemplateBody: memberTemplateBody(member),
  });
}
