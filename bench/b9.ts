/**
 * B9 (../shared/BENCHMARKS.md): model serving. The same scikit-learn model behind `/invocations`
 * in `python -m cairn.models serve` and in `mlflow models serve --env-manager local`, 1-row and
 * 100-row `dataframe_split` requests from 16 closed-loop clients on keep-alive connections.
 *
 *   npx tsx bench/b9.ts [--quick] [--reps N] [--workers 1,2] [--clients 16] [--out FILE] [--keep]
 *
 * Both servers load the very same fitted estimator (bench/b9_model.py writes it in both formats),
 * run with the same worker count, and are measured in the same run, interleaved ABBA. Before the
 * load, both must answer the same predictions for the same payloads. Writes bench/results/b9.md
 * (quick: b9-quick.md, git-ignored). The run itself is bench/lib/serving.ts.
 */
import path from 'node:path';
import { runServingBench, SDK_PYTHON, SERVING_ENV } from './lib/serving.ts';

await runServingBench({
  tag: 'b9',
  cairnCommand: (work, port, workers) => ({
    command: SDK_PYTHON,
    args: [
      '-m',
      'cairn.models',
      'serve',
      '-m',
      path.join(work, 'cairn-model'),
      '--port',
      String(port),
      '--workers',
      String(workers),
    ],
    options: { env: SERVING_ENV },
  }),
  versionsScript:
    'import sklearn, pandas, numpy, sys; print(f"Python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}")',
  title: (quick) => `# B9: model serving (\`npx tsx bench/b9.ts${quick ? ' --quick' : ''}\`)`,
  describe: [
    `Model: scikit-learn LogisticRegression, 8 float columns, column signature (bench/b9_model.py), the same fitted object in both.`,
    `Cairn: \`python -m cairn.models serve --workers N\`; MLflow: \`mlflow models serve --env-manager local --workers N\` (uvicorn + FastAPI; its default is 1 worker).`,
  ],
});
