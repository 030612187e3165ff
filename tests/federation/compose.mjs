// Composes Bydel's subgraph SDL with the kommune subgraph into a supergraph, the way a
// municipality builds its own supergraph.
// Usage: node compose.mjs BYDEL_SDL_FILE BYDEL_URL KOMMUNE_URL SUPERGRAPH_OUTPUT_FILE
// Exits 1 and prints every composition error on stderr when the subgraphs do not compose.
import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

import { typeDefs as kommuneTypeDefs } from './kommune-schema.mjs';

const [bydelSdlFile, bydelUrl, kommuneUrl, output] = process.argv.slice(2);
if (!output) {
  console.error('usage: node compose.mjs BYDEL_SDL_FILE BYDEL_URL KOMMUNE_URL OUTPUT');
  process.exit(2);
}

const result = composeServices([
  { name: 'bydel', url: bydelUrl, typeDefs: parse(readFileSync(bydelSdlFile, 'utf8')) },
  { name: 'kommune', url: kommuneUrl, typeDefs: kommuneTypeDefs },
]);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
writeFileSync(output, result.supergraphSdl);
console.log(`composed ${output}`);
