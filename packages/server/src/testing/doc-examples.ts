/**
 * The `kopitra` command lines of the docs' shell blocks, as words: what the tests check
 * against the command table and run against a temporary data directory.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DocExample {
  /** Where it is written: `README.md:109`. */
  where: string;
  /** The line as written. */
  text: string;
  /** The words after the invocation (`kopitra`, `npx kopitra`, `npm run kopitra --`, `node …/kopitra.js`). */
  argv: string[];
  /** Names of the `<placeholders>` it contains, in order. */
  placeholders: string[];
}

const FENCE = /^(\s*)```(sh|bash|shell|console)\s*$/;
const INVOCATION =
  /(?:^|&&|\|\||;|\||\$\()\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(npx kopitra|npm run kopitra --|node (?:\S*\/)?dist\/bin\/kopitra\.js|kopitra)(?=\s|$)/g;

/** Markdown files of the repository that hold examples: the READMEs and docs/. */
export function docFiles(root: string): string[] {
  const files = ['README.md', 'DEVELOPERS.md', 'ea/README.md'];
  for (const dir of ['docs', 'packages', 'deploy']) {
    const walk = (d: string) => {
      for (const e of fs.readdirSync(path.join(root, d), { withFileTypes: true })) {
        const rel = path.join(d, e.name);
        if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist') walk(rel);
        else if (e.isFile() && e.name.endsWith('.md')) files.push(rel);
      }
    };
    walk(dir);
  }
  return files.filter((f) => fs.existsSync(path.join(root, f))).sort();
}

/** Splits a shell command into words (quotes, escapes); stops at an unquoted operator or comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word += line.slice(i + 1, end === -1 ? undefined : end);
      i = end === -1 ? line.length : end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) j++;
        word += line[j];
      }
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if ('&;|#)'.includes(c) && !inWord) {
      break;
    } else if ('&;|)'.includes(c)) {
      words.push(word);
      return words;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Every `kopitra` command line in the shell blocks of `files`. */
export function shellExamples(root: string, files = docFiles(root)): DocExample[] {
  const out: DocExample[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    let inBlock = false;
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      if (!inBlock) {
        inBlock = FENCE.test(raw);
        continue;
      }
      if (/^\s*```\s*$/.test(raw)) {
        inBlock = false;
        continue;
      }
      let text = raw.trim().replace(/^\$ /, '');
      const first = i;
      while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!.trim()}`;
      for (const m of text.matchAll(INVOCATION)) {
        const words = shellWords(text.slice(m.index + m[0].length));
        const placeholders = words.flatMap((w) => [...w.matchAll(/<([^>]+)>/g)].map((p) => p[1]!));
        // `[--opt V]` in an example is an optional part: it must parse, brackets aside.
        const argv = words.map((w) => w.replace(/^\[/, '').replace(/\]$/, '')).filter((w) => w !== '');
        out.push({ where: `${file}:${first + 1}`, text: raw.trim(), argv, placeholders });
      }
    }
  }
  return out;
}
