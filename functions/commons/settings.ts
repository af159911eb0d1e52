/**
 * keymend's settings, defined once: each one's environment variable, default and range, and the
 * values some of them take (modes, mechanisms). Read by the functions' configuration
 * (functions/core/config.ts, which parses the environment), by the CDK construct (its props'
 * defaults and checks, and the environment it gives the functions) and by the `-c` context parser
 * (infra/context.ts), so the three cannot drift apart. Node builtins only: infra/ imports this file.
 */
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
