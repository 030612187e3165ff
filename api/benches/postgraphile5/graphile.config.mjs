// PostGraphile 5 for the benchmark (run.sh copies this file and serve.mjs next to the
// installed postgraphile@5 under target/bench/postgraphile5 and starts serve.mjs with Node 22).
//
// Environment: PG5_CONNECTION (the database URL), PG5_SCHEMAS ("public" for the superuser
// peer, "bench_rls" for the RLS peer: api/benches/rls/policies.sql), PG5_JWT_SECRET (RLS peer
// only: HS256 tokens from api/benches/rls/jwt.py, verified by the lazy-JWT preset, whose
// claims become pgSettings: `role` -> SET LOCAL role, every claim -> jwt.claims.<name>, as
// PostGraphile 4's --jwt-secret does), PG5_PORT, PG5_HOST.
//
// Settings chosen to match the PostGraphile 4 peer: list collections beside connections
// (v4 --simple-collections both), no GraphiQL, no query logging, no watch mode, no explain.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgLazyJWTPreset } from "postgraphile/presets/lazy-jwt";

const secret = process.env.PG5_JWT_SECRET || undefined;

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, ...(secret ? [PgLazyJWTPreset] : [])],
  pgServices: [
    makePgService({
      connectionString: process.env.PG5_CONNECTION,
      schemas: (process.env.PG5_SCHEMAS || "public").split(","),
      poolConfig: { max: Number(process.env.PG5_POOL || 10) },
    }),
  ],
  schema: {
    defaultBehavior: "+connection +resource:connection +list +resource:list",
    // RBAC-aware when acting as the RLS role: only what bench_municipality may read.
    pgIgnoreRBAC: !secret,
  },
  grafserv: {
    port: Number(process.env.PG5_PORT || 15001),
    host: process.env.PG5_HOST || "127.0.0.1",
    graphiql: false,
    watch: false,
    ...(secret ? { pgJwtSecret: secret } : {}),
  },
  grafast: {
    explain: false,
  },
};

export default preset;
