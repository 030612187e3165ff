// Serves PostGraphile 5 from graphile.config.mjs with PG5_WORKERS node processes sharing the
// port (node:cluster), as PostGraphile 4 runs with --cluster-workers 2 in run.sh: node.js
// runs JavaScript on one core per process.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const workers = Number(process.env.PG5_WORKERS || 2);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited (${code})`);
    process.exit(1);
  });
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      for (const id in cluster.workers) cluster.workers[id].process.kill("SIGTERM");
      process.exit(0);
    });
  }
} else {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  await serv.addTo(server);
  const { port, host } = preset.grafserv;
  server.listen(port, host, () => console.error(`postgraphile 5 on http://${host}:${port}/graphql`));
}
