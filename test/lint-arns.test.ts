/**
 * "Every ARN through functions/commons/arn.ts" (docs: style.md): an ARN keymend reads is untrusted, and
 * the one ARN module is where its shape is decided. This test fails on hand-written ARN parsing anywhere
 * else in the source (functions/, infra/, cli/, bench/): splitting an ARN on `:` or `/`, looking for those
 * characters in it, or a regular expression over `arn:`. Building an ARN from known parts is not parsing
 * and is allowed.
 *
 * It reads each file's syntax tree (with @swc/core, which jest already uses), so comments and prose that
 * mention ARNs do not count, and a planted example in a copy of the tree shows it catching each form.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSync } from '@swc/core';

const ROOT = path.resolve(__dirname, '..');
const SOURCE_FOLDERS = ['functions', 'infra', 'cli', 'bench'];
/** The one module allowed to take ARNs apart. */
const ARN_MODULE = 'functions/commons/arn.ts';
/**
 * The files exempt, and why. The evaluator's ARN matching is IAM's (the Resource element and the Arn*
 * operators match any string segment by segment, in place), not a decision on what an ARN is: a string
 * commons/arn.ts refuses must still match or not match exactly as IAM would.
 */
const EXEMPT: Readonly<Record<string, string>> = {
  [ARN_MODULE]: 'the ARN module',
  'functions/policy/arn-pattern.ts': "IAM's segment-by-segment ARN matching in the policy evaluator",
};
const SKIPPED_FOLDERS = new Set(['node_modules', 'cdk.out', '.bundle']);

/** A variable or property that holds an ARN by its name: `arn`, `keyArn`, `invokedFunctionArn`, `TOPIC_ARN`. */
const ARN_NAME = /^arn$|Arn$|^ARN$|_ARN$/;
/** String methods that take an ARN apart when given one of its separators. */
const SEPARATOR_METHODS = new Set(['split', 'indexOf', 'lastIndexOf']);
const SEPARATORS = new Set([':', '/']);
/** String methods that look for a literal `arn:` prefix in a value. */
const PREFIX_METHODS = new Set(['startsWith', 'includes', 'indexOf', 'split', 'match']);

interface Finding {
  file: string;
  line: number;
  what: string;
}

type Node = { type?: string; span?: { start: number; end: number }; [key: string]: unknown };

/** The name an expression is known by: an identifier, or the property of a member expression. */
function nameOf(node: unknown): string | null {
  const n = node as Node | null;
  if (!n || typeof n !== 'object') return null;
  if (n.type === 'Identifier') return n.value as string;
  if (n.type === 'MemberExpression') return nameOf(n.property);
  if (n.type === 'OptionalChainingExpression') return nameOf(n.base);
  if (n.type === 'TsNonNullExpression' || n.type === 'ParenthesisExpression') return nameOf(n.expression);
  return null;
}

/** The literal text of a string or template argument (a template's fixed parts joined), else null. */
function literalText(node: unknown): string | null {
  const n = node as Node | null;
  if (!n || typeof n !== 'object') return null;
  if (n.type === 'StringLiteral') return n.value as string;
  if (n.type === 'TemplateLiteral') {
    return (n.quasis as Array<{ raw?: string; cooked?: string }>)
      .map((q) => q.raw ?? q.cooked ?? '')
      .join('');
  }
  return null;
}

/** What in `node` is hand-written ARN parsing, in words; null for nothing. */
function violation(node: Node): string | null {
  if (node.type === 'RegExpLiteral' && /arn:/i.test(node.pattern as string)) {
    return `a regular expression over arn: (/${node.pattern}/)`;
  }
  if (node.type !== 'CallExpression' && node.type !== 'NewExpression') return null;
  const args = ((node.arguments as Array<{ expression: unknown }> | undefined) ?? []).map(
    (a) => a.expression,
  );
  const callee = node.callee as Node;
  if (callee?.type === 'Identifier' && callee.value === 'RegExp') {
    const text = args.map(literalText).find((t) => t !== null && /arn:/i.test(t));
    return text === undefined ? null : `a regular expression over arn: (RegExp ${JSON.stringify(text)})`;
  }
  if (callee?.type !== 'MemberExpression') return null;
  const method = nameOf(callee.property);
  const receiver = nameOf(callee.object);
  const first = literalText(args[0]);
  if (method && SEPARATOR_METHODS.has(method) && receiver && ARN_NAME.test(receiver) && first !== null) {
    if (SEPARATORS.has(first)) return `${receiver}.${method}('${first}')`;
  }
  if (method && PREFIX_METHODS.has(method) && first?.toLowerCase().startsWith('arn:')) {
    return `${method}('${first}')`;
  }
  return null;
}

/** Every node below `node`, depth first. */
function* walk(node: unknown): Generator<Node> {
  if (Array.isArray(node)) {
    for (const item of node) yield* walk(item);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as Node;
  if (typeof n.type === 'string') yield n;
  for (const [key, value] of Object.entries(n)) {
    if (key !== 'span' && value && typeof value === 'object') yield* walk(value);
  }
}

/** The hand-written ARN parsing in one source file. */
function arnParsingIn(file: string, source: string): Finding[] {
  // A leading `0;` marks where the file starts in swc's byte positions, whatever they are counted from.
  const marker = '0;\n';
  // A shebang line becomes a comment of the same length, so it can follow the marker.
  const code = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const module = parseSync(`${marker}${code}`, { syntax: 'typescript', tsx: file.endsWith('.tsx') });
  const base = (module.body[0] as unknown as Node).span?.start ?? 0;
  const bytes = Buffer.from(source, 'utf8');
  const lineAt = (start: number) => {
    const offset = start - base - Buffer.byteLength(marker);
    return bytes.subarray(0, Math.max(0, offset)).toString('utf8').split('\n').length;
  };
  const findings: Finding[] = [];
  for (const node of walk(module.body)) {
    const what = violation(node);
    if (what !== null) findings.push({ file, line: lineAt(node.span?.start ?? base), what });
  }
  return findings;
}

/** The TypeScript files below the source folders of `root`, relative to it, with forward slashes. */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (relative: string) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) visit(child);
      } else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push(child);
      }
    }
  };
  for (const folder of SOURCE_FOLDERS) {
    try {
      visit(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return out.sort();
}

/** Every place under `root` outside the ARN module that parses an ARN by hand, as `file:line what`. */
function handParsedArns(root: string): string[] {
  return sourceFiles(root)
    .filter((file) => EXEMPT[file] === undefined)
    .flatMap((file) => arnParsingIn(file, readFileSync(path.join(root, file), 'utf8')))
    .map((f) => `${f.file}:${f.line} ${f.what}`);
}

describe('ARNs are taken apart only in functions/commons/arn.ts', () => {
  it('finds no hand-written ARN parsing in functions/, infra/, cli/ or bench/', () => {
    const files = sourceFiles(ROOT);
    // The walk reaches every layer (an empty walk would pass vacuously).
    for (const folder of ['functions/core/', 'functions/handlers/', 'infra/', 'cli/', 'bench/']) {
      expect(files.some((f) => f.startsWith(folder))).toBe(true);
    }
    for (const file of Object.keys(EXEMPT)) expect(files).toContain(file);
    expect(handParsedArns(ROOT)).toEqual([]);
  });

  describe('on a planted copy of the tree', () => {
    let root: string;
    const plant = (relative: string, source: string) => {
      mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
      writeFileSync(path.join(root, relative), source);
    };

    beforeEach(() => {
      root = mkdtempSync(path.join(tmpdir(), 'keymend-lint-arns-'));
      // The real ARN module, which splits ARNs on purpose, is exempt.
      plant(ARN_MODULE, readFileSync(path.join(ROOT, ARN_MODULE), 'utf8'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it.each([
      [
        'functions/core/planted.ts',
        "export const account = (arn: string) => arn.split(':')[4];\n",
        "arn.split(':')",
      ],
      [
        'functions/policy/planted.ts',
        "export const service = (resourceArn: string) => resourceArn.split(':')[2];\n",
        "resourceArn.split(':')",
      ],
      [
        'functions/handlers/planted.ts',
        "export const own = (c: { invokedFunctionArn: string }) => c.invokedFunctionArn.split(':')[4];\n",
        "invokedFunctionArn.split(':')",
      ],
      [
        'cli/demo/planted.ts',
        "export const stream = (streamArn: string) => streamArn.slice(streamArn.lastIndexOf('/') + 1);\n",
        "streamArn.lastIndexOf('/')",
      ],
      [
        'infra/planted.ts',
        'export const TOPIC = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}$/;\n',
        'a regular expression over arn:',
      ],
      [
        'bench/planted.ts',
        'export const inText = (m: string) => new RegExp(`on resource: (arn:[^\\\\s]+)`).exec(m);\n',
        'a regular expression over arn:',
      ],
      [
        'functions/adapters/planted.ts',
        "export const isArn = (value: string) => value.startsWith('arn:');\n",
        "startsWith('arn:')",
      ],
    ])('catches %s', (file, source, what) => {
      plant(file, `/** Mentions arn:aws:kms and arn.split(':') in a comment, which is fine. */\n${source}`);
      const found = handParsedArns(root);
      expect(found).toHaveLength(1);
      expect(found[0]).toContain(`${file}:2 `);
      expect(found[0]).toContain(what);
    });

    it('allows building an ARN, going through the ARN module, and splitting what is not an ARN', () => {
      plant(
        'functions/core/planted.ts',
        [
          "import { arnAccount } from '../commons/arn';",
          'export const account = (arn: string) => arnAccount(arn);',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the planted source builds an ARN in a template
          'export const root = (p: string, a: string) => `arn:${p}:iam::${a}:root`;',
          "export const words = (text: string) => text.split(' ');",
          "export const groupOf = (name: string) => name.split('/')[1];",
          '',
        ].join('\n'),
      );
      expect(handParsedArns(root)).toEqual([]);
    });
  });
});
