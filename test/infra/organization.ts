/** Builds the organization deployment (hub and member) for the tests: no bundling, no validation. */
import { addKeymendStacks } from '../../infra/keymend-app';
import type { KeymendHubStack } from '../../infra/keymend-hub';
import { newApp } from './synth';

export const ORGANIZATION_CONTEXT = {
  deployment: 'organization',
  organizationId: 'o-a1b2c3d4e5',
  organizationTargets: 'ou-ab12-cdef3456,ou-ab12-99887766',
  regions: 'us-east-1,eu-west-1',
};

export function synthOrganization(context: Record<string, unknown> = {}) {
  const app = newApp({ context: { ...ORGANIZATION_CONTEXT, ...context } });
  const [hub] = addKeymendStacks(app) as KeymendHubStack[];
  const assembly = app.synth();
  return {
    app,
    hub: hub as KeymendHubStack,
    hubTemplate: assembly.getStackByName('KeymendHub').template,
    memberTemplate: assembly.getStackByName('KeymendMember').template,
  };
}
