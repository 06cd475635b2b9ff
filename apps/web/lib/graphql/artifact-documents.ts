/** GraphQL operations of the run page's artifact browser (`Run.artifacts`), with result types. */

export interface ArtifactEntry {
  path: string;
  name: string;
  isDir: boolean;
  size: number | null;
  sha256: string | null;
  loggedAt: number | null;
  /** Relative URL on the API's origin; `?archive=tar.gz` for directories. */
  downloadUrl: string;
}

/** A tick per projected artifact change of a run; the artifacts tab re-reads its open folders. */
export const RUN_ARTIFACTS_CHANGED = `
  subscription RunArtifactsChanged($runId: String!) { runArtifactsChanged(runId: $runId) { runId } }`;

export const RUN_ARTIFACTS_QUERY = `
  query RunArtifacts($id: String!, $path: String) {
    run(id: $id) {
      id
      artifacts(path: $path) { path name isDir size sha256 loggedAt downloadUrl }
    }
  }`;
export interface RunArtifactsResult {
  run: { id: string; artifacts: ArtifactEntry[] } | null;
}
