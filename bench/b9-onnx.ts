/**
 * B9-ONNX (../shared/BENCHMARKS.md, B9 "also the ONNX path"): B9's scikit-learn model converted
 * to ONNX and served by the TypeScript server (`cairn models serve`, onnxruntime-node, no
 * Python), against `mlflow models serve --env-manager local` serving the same fitted estimator
 * (its sklearn flavor, as in B9). 1-row and 100-row `dataframe_split` requests from 16
 * closed-loop clients on keep-alive connections.
 *
 *   npx tsx bench/b9-onnx.ts [--quick] [--reps N] [--workers 1,2] [--clients 16] [--out FILE] [--keep]
 *
 * `--workers` is MLflow's worker count; the TypeScript server is one process with one
 * onnxruntime intra-op thread (`--threads 1`) in every cell. Before the load both must answer
 * the same labels for the same payloads. Writes bench/results/b9-onnx.md (quick:
 * b9-onnx-quick.md, git-ignored).
 * The run itself is bench/lib/serving.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './lib/cairn.ts';
import { run, runServingBench, SDK_PYTHON, SERVING_ENV } from './lib/serving.ts';

const ORT_VERSION = (
  JSON.parse(
    readFileSync(path.join(REPO, 'node_modules/onnxruntime-node/package.json'), 'utf8'),
  ) as { version: string }
).version;

await runServingBench({
  tag: 'b9-onnx',
  cairnCommand: (work, port) => ({
    command: process.execPath,
    args: [
      path.join(REPO, 'apps/cli/bin/cairn.js'),
      'models',
      'serve',
      '-m',
      path.join(work, 'cairn-onnx-model'),
      '--port',
      String(port),
      '--threads',
      '1',
      '--no-follow',
    ],
    options: { env: SERVING_ENV, cwd: REPO },
  }),
  prepare: async (work) => {
    await run(SDK_PYTHON, [path.join(REPO, 'bench/b9_onnx_model.py'), work], { env: SERVING_ENV });
  },
  versionsScript:
    'import sklearn, skl2onnx, sys; print(f"Python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}")',
  // the ONNX graph answers records {label, probabilities}; MLflow the labels
  labels: (predictions) => (predictions as { label: number }[]).map((r) => r.label),
  title: (quick) =>
    `# B9-ONNX: the TypeScript ONNX server (\`npx tsx bench/b9-onnx.ts${quick ? ' --quick' : ''}\`)`,
  describe: [
    `Model: B9's scikit-learn LogisticRegression (8 float columns, column signature; bench/b9_model.py); Cairn serves its skl2onnx conversion (bench/b9_onnx_model.py, answers label + probabilities), MLflow the estimator itself (sklearn flavor, answers labels).`,
    `Cairn: \`npx cairn models serve --threads 1\` (one Node process, onnxruntime-node ${ORT_VERSION}); MLflow: \`mlflow models serve --env-manager local --workers N\` (uvicorn + FastAPI; its default is 1 worker). "workers" is MLflow's.`,
  ],
});
