#!/usr/bin/env bash
# Refreshes the vendored GraphiQL assets from the npm registry (`npm pack`, no install, no
# scripts run). Edit the versions below, run `bash api/assets/graphiql/refresh.sh`, update the
# versions in README.md here and in `api/src/graphiql.rs` (the file names carry them), look at
# GraphiQL in a browser and commit the files. The build itself never fetches anything.
#
# GraphiQL 4 is the last major version with a self-contained UMD bundle (graphiql 5 ships ES
# modules that need a bundler and a Monaco worker); React 18 is the last with UMD builds.
set -euo pipefail

GRAPHIQL=4.1.2
REACT=18.3.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # package version -> unpacked in $work/<package>
    local package="$1" version="$2"
    (cd "$work" && npm pack --silent "${package}@${version}" >/dev/null)
    mkdir -p "$work/$package"
    tar xzf "$work/${package}-${version}.tgz" -C "$work/$package" --strip-components=1
}

fetch graphiql "$GRAPHIQL"
fetch react "$REACT"
fetch react-dom "$REACT"

# The source map comment is dropped: the maps are not vendored (4.7 MB), and a browser's
# developer tools would otherwise ask the server for a file it does not have.
strip_map() { sed '/^\/\/# sourceMappingURL=/d' "$1"; }

strip_map "$work/graphiql/graphiql.min.js" >"$here/graphiql-${GRAPHIQL}.min.js"
cp "$work/graphiql/graphiql.min.css" "$here/graphiql-${GRAPHIQL}.min.css"
strip_map "$work/react/umd/react.production.min.js" >"$here/react-${REACT}.production.min.js"
strip_map "$work/react-dom/umd/react-dom.production.min.js" >"$here/react-dom-${REACT}.production.min.js"
cp "$work/graphiql/LICENSE" "$here/LICENSE.graphiql"
cp "$work/react/LICENSE" "$here/LICENSE.react"
cp "$work/react-dom/LICENSE" "$here/LICENSE.react-dom"

echo "vendored graphiql ${GRAPHIQL}, react and react-dom ${REACT} into ${here}" >&2
