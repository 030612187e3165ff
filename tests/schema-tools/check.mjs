// Reads a client schema (schema.client.graphql) with the tools partners point at it and
// prints what each found, then one summary line:
//
//   node check.mjs ../../schema.client.graphql
//
// - graphql-js (`buildSchema`, then `validateSchema`): the SDL is complete, every directive it
//   uses is defined, and it has the three roots (code generators build on this);
// - graphql-inspector (`introspect`): its schema loader reads the file;
// - graphql-schema-linter with all its rules: among them types-, fields-, arguments-,
//   enum-values- and input-object-values-have-descriptions.
//
// Exits 1 when any tool failed or the linter reported anything, 2 on bad usage.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSchema, validateSchema } from 'graphql';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node check.mjs <schema.graphql>');
  process.exit(2);
}
const path = resolve(file);
const bin = (name) => new URL(`./node_modules/.bin/${name}`, import.meta.url).pathname;
const summary = { graphql: null, inspector: null, linter: null };

// graphql-js
try {
  const schema = buildSchema(readFileSync(path, 'utf8'));
  const errors = validateSchema(schema).map((error) => error.message);
  for (const root of ['getQueryType', 'getMutationType', 'getSubscriptionType']) {
    if (!schema[root]()) errors.push(`no ${root.slice(3, -4)} root`);
  }
  summary.graphql = { ok: errors.length === 0, errors };
} catch (error) {
  summary.graphql = { ok: false, errors: [String(error.message ?? error)] };
}

// graphql-inspector: introspect the file into a scratch directory.
const scratch = mkdtempSync(join(tmpdir(), 'bydel-schema-tools-'));
try {
  execFileSync(bin('graphql-inspector'), ['introspect', path, '--write', join(scratch, 'i.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const introspection = JSON.parse(readFileSync(join(scratch, 'i.json'), 'utf8'));
  const types = introspection.__schema?.types?.length ?? 0;
  summary.inspector = { ok: types > 0, types };
} catch (error) {
  summary.inspector = { ok: false, errors: [`${error.message}\n${error.stderr ?? ''}`] };
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// graphql-schema-linter, every rule; it exits 1 when it reports errors.
let report;
try {
  report = execFileSync(bin('graphql-schema-linter'), ['--format', 'json', path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (error) {
  report = error.stdout;
}
try {
  const { errors } = JSON.parse(String(report));
  const byRule = {};
  for (const error of errors) {
    byRule[error.rule] = (byRule[error.rule] ?? 0) + 1;
    console.log(`${error.rule} ${error.location?.line}:${error.location?.column} ${error.message}`);
  }
  summary.linter = { ok: errors.length === 0, errors: errors.length, byRule };
} catch (error) {
  summary.linter = { ok: false, errors: -1, output: String(report).slice(0, 2000) };
}

for (const [tool, result] of Object.entries(summary)) {
  console.log(`${tool}: ${result.ok ? 'ok' : 'FAILED'}`);
  for (const message of (result.errors instanceof Array ? result.errors : [])) console.log(`  ${message}`);
}
console.log(`SUMMARY ${JSON.stringify(summary)}`);
process.exit(Object.values(summary).every((result) => result.ok) ? 0 : 1);
