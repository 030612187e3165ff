// The municipality's own subgraph schema: it adds its case number to Bydel's `Referral`
// (an entity Bydel owns, joined by `id`) and has a `Case` type that references a referral.
import { parse } from 'graphql';

export const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  type Referral @key(fields: "id") {
    id: ID!
    "The municipality's case number for this referral, when it opened a case."
    caseNumber: String
  }

  "A case in the municipality's own system, opened for a referral from Bydel."
  type Case @key(fields: "caseNumber") {
    caseNumber: String!
    team: String!
    referral: Referral
  }

  type Query {
    cases: [Case!]!
  }
`);
