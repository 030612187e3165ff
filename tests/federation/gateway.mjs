// An Apollo gateway over a composed supergraph. It forwards the caller's Authorization (and
// X-Request-Id) header to every subgraph, so Bydel applies the caller's own token.
// Usage: node gateway.mjs SUPERGRAPH_FILE
// Listens on a free port on 127.0.0.1 and prints its URL on a line of its own on stdout.
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const FORWARDED = ['authorization', 'x-request-id'];

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of FORWARDED) {
      const value = context.headers.get(name);
      if (value) request.http.headers.set(name, value);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.argv[2], 'utf8'),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: 0 },
  context: async ({ req }) => ({
    headers: new Map(FORWARDED.map((name) => [name, req.headers[name]])),
  }),
});
console.log(url);
