/**
 * Every command's `--help` in one voice: the same sections (usage, what it does, options, the exit
 * codes of run-command.ts, examples) and the same width, 80 columns. Help texts are written as prose
 * and option tables; `helpText` folds any longer line at a word, continuing under the line's own
 * text (an option's description column, a list item's text) or, for a command in the examples, with
 * a backslash as a shell would.
 */
import { WIDTH } from './text';

/**
 * `text` with every line over {@link WIDTH} columns folded; what a fold pushes down joins the next
 * line when that line continues the same text (same indent, not a new item), so paragraphs stay even.
 */
export function helpText(text: string): string {
  const out: string[] = [];
  let carry: { text: string; indent: number } | null = null;
  for (let line of text.split('\n')) {
    if (carry) {
      const indent = leading(line);
      if (line.trim() !== '' && indent === carry.indent && !NEW_ITEM.test(line.trim())) {
        line = `${' '.repeat(indent)}${carry.text} ${line.trim()}`;
      } else {
        out.push(...foldWords(`${' '.repeat(carry.indent)}${carry.text}`, carry.indent));
      }
      carry = null;
    }
    if (line.length <= WIDTH) {
      out.push(line);
      continue;
    }
    const command = /^(\s*)(keymend|aws|npm|npx|KEY=|curl)\b/.exec(line);
    if (command) {
      out.push(...foldCommand(line, (command[1] ?? '').length + 4));
      continue;
    }
    const indent = hangingIndent(line);
    const folded = foldWords(line, indent);
    out.push(...folded.slice(0, -1));
    carry = { text: (folded.at(-1) ?? '').trim(), indent };
  }
  if (carry) out.push(...foldWords(`${' '.repeat(carry.indent)}${carry.text}`, carry.indent));
  return out.join('\n');
}

/** A line that starts something new: an option, a list item, an object, a section heading. */
const NEW_ITEM = /^(-|\*|\d+\.|\{|"|[a-z][\w-]*\s{2,}|[A-Z][\w ]*:$)/;

function leading(line: string): number {
  return /^\s*/.exec(line)?.[0].length ?? 0;
}

/** Where a folded line continues: the description column ("  --opt VALUE    text"), a list item's text, or the indent. */
function hangingIndent(line: string): number {
  const item = /^(\s*(?:[-*] |\d+\. ))\S/.exec(line);
  if (item) return (item[1] ?? '').length;
  // The last gap of two or more spaces in the line's first 60 columns starts the description.
  const start = leading(line);
  let column = start;
  for (const gap of line.slice(start, 60).matchAll(/\s{2,}/g))
    column = start + (gap.index ?? 0) + gap[0].length;
  return column;
}

function foldWords(line: string, indent: number): string[] {
  const lines: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    let cut = rest.lastIndexOf(' ', WIDTH);
    if (cut <= indent) cut = rest.indexOf(' ', WIDTH);
    if (cut === -1) break;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = `${' '.repeat(indent)}${rest.slice(cut + 1).trimStart()}`;
  }
  lines.push(rest);
  return lines;
}

function foldCommand(line: string, indent: number): string[] {
  const trailing = line.endsWith(' \\');
  const body = trailing ? line.slice(0, -2) : line;
  const parts: string[] = [];
  let rest = body;
  while (rest.length > WIDTH - 2) {
    const cut = rest.lastIndexOf(' ', WIDTH - 2);
    if (cut <= indent) break;
    parts.push(`${rest.slice(0, cut)} \\`);
    rest = `${' '.repeat(indent)}${rest.slice(cut + 1)}`;
  }
  parts.push(trailing ? `${rest} \\` : rest);
  return parts;
}
