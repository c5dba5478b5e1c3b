// Writes the README's error table from ERROR_CODES (npm run errors:readme).
import { readFileSync, writeFileSync } from 'node:fs';
import { errorTable } from '../src/sys/error-codes.js';

const BEGIN = '<!-- errors:begin -->';
const END = '<!-- errors:end -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(BEGIN);
const b = readme.indexOf(END);
if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} ... ${END} section`);
writeFileSync('README.md', `${readme.slice(0, a + BEGIN.length)}\n${errorTable()}\n${readme.slice(b)}`);
