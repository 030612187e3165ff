// A municipality's subgraph ("kommune"): its cases, each pointing at a Bydel referral.
// Usage: KOMMUNE_CASES='[{"caseNumber":"K-1","team":"...","referralId":"<Bydel id>"}]' node kommune.mjs
// Listens on a free port on 127.0.0.1 and prints its URL on a line of its own on stdout.
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';

import { typeDefs } from './kommune-schema.mjs';

const cases = JSON.parse(process.env.KOMMUNE_CASES ?? '[]');

const resolvers = {
  Query: {
    cases: () => cases,
  },
  Case: {
    __resolveReference: ({ caseNumber }) => cases.find((c) => c.caseNumber === caseNumber) ?? null,
    referral: (c) => ({ __typename: 'Referral', id: c.referralId }),
  },
  Referral: {
    __resolveReference: ({ id }) => ({ id }),
    caseNumber: ({ id }) => cases.find((c) => c.referralId === id)?.caseNumber ?? null,
  },
};

const server = new ApolloServer({
  schema: buildSubgraphSchema({ typeDefs, resolvers }),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
console.log(url);
