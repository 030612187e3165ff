// Runs the graphql-http server audits (GraphQL over HTTP spec conformance) against a running
// Bydel and prints every result, then the pass/fail counts per level (MUST, SHOULD, MAY).
// Exits 1 when any MUST fails, 2 on bad usage.
//
//   node audit.mjs http://127.0.0.1:8080/graphql <token>
//
// The audits send no Authorization header; every request here carries the given (test) token.
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <graphql url> <token>');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const counts = {
  MUST: { pass: 0, fail: 0 },
  SHOULD: { pass: 0, fail: 0 },
  MAY: { pass: 0, fail: 0 },
};

// One at a time: the audits are a conformance check, not a load test.
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  const level = audit.name.split(' ')[0];
  const passed = result.status === 'ok';
  counts[level][passed ? 'pass' : 'fail'] += 1;
  console.log(`${passed ? 'pass' : 'FAIL'} ${audit.id} ${audit.name}`);
  if (!passed) {
    console.log(`     ${result.reason}`);
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      console.log(`     HTTP ${result.response.status}: ${body.slice(0, 300)}`);
    }
  }
}

for (const [level, { pass, fail }] of Object.entries(counts)) {
  console.log(`${level}: ${pass} passed, ${fail} failed`);
}
console.log(`SUMMARY ${JSON.stringify(counts)}`);
process.exit(counts.MUST.fail > 0 ? 1 : 0);
